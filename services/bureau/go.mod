module bureau/services/bureau

go 1.26.0

require bureau/services/platform v0.0.0

replace bureau/services/platform => ../platform

require bureau/gateway v0.0.0
require bureau/services/chat v0.0.0
require bureau/services/files v0.0.0
require bureau/services/meet v0.0.0

replace bureau/gateway => ../../gateway
replace bureau/services/chat => ../chat
replace bureau/services/files => ../files
replace bureau/services/meet => ../meet

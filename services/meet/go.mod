module bureau/services/meet

go 1.26.0

require bureau/services/platform v0.0.0

replace bureau/services/platform => ../platform

// Command files runs the files service alone.
package main

import "bureau/services/files"

func main() { files.Main() }

// Command chat runs the chat service alone.
package main

import "bureau/services/chat"

func main() { chat.Main() }

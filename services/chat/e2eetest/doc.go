// Package e2eetest holds the end-to-end encryption test with a real Matrix
// crypto client (mautrix-go's OlmMachine on goolm, pure Go). It needs the
// build tag:
//
//	go test -race -tags goolm ./services/chat/e2eetest/
package e2eetest

package identity

import "net/http"

func httpHandler(f func(*User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := FromContext(r.Context()); ok {
			f(&u)
		} else {
			f(nil)
		}
	})
}

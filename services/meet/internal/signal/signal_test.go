package signal

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := []string{
		`{"type":"join"}`,
		`{"type":"leave"}`,
		`{"type":"publish","tracks":[{"kind":"audio","source":"microphone"},{"kind":"video","source":"screen"}]}`,
		`{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"candidate","candidate":{"candidate":""}}`,
		`{"type":"mute","kind":"video","muted":true}`,
		`{"type":"chat","text":"Bonjour"}`,
		`{"type":"hand","raised":false}`,
		`{"type":"admit","participant":"pabc123"}`,
		`{"type":"unpublish","track":"pabc-t1"}`,
		`{"type":"promote","participant":"pabc"}`,
		`{"type":"demote","participant":"pabc"}`,
		`{"type":"moderate","action":"stop_video","participant":"pabc"}`,
		`{"type":"lock","locked":true}`,
		`{"type":"end"}`,
		`{"type":"question","text":"Pourquoi ?"}`,
		`{"type":"set_quality","track":"pabc-t2","quality":"low"}`,
		`{"type":"set_quality","track":"pabc-t2","width":640,"height":360}`,
		`{"type":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":12}`,
		`{"type":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","guest_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		`{"type":"join","guest_key":"abcdefghijklmnopqrstuvwxyz-_0123456789ABCDE"}`,
		`{"type":"reaction","emoji":"👍"}`,
		`{"type":"moderate","action":"remove_revoke_link","participant":"pabc"}`,
		`{"type":"webinar_chat","webinar_chat":"off"}`,
	}
	for _, s := range good {
		if _, err := Parse([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]string{
		`{"type":"chat","text":"x"`:            CodeBadMessage,
		`{"type":"chat","text":"x"} {}`:        CodeBadMessage,
		`[]`:                                   CodeBadMessage,
		`{}`:                                   CodeBadMessage,
		`{"type":"nope"}`:                      CodeUnknownType,
		`{"type":"chat"}`:                      CodeBadMessage,
		`{"type":"chat","text":"x","extra":1}`: CodeBadMessage,
		`{"type":"chat","text":"x","code":"forged"}`:                            CodeBadMessage,
		`{"type":"publish","tracks":[]}`:                                        CodeBadMessage,
		`{"type":"publish","tracks":[{"kind":"audio","source":"camera"}]}`:      CodeBadMessage,
		`{"type":"answer","sdp":"hello"}`:                                       CodeBadSDP,
		`{"type":"answer","sdp":"v=0\r\nzzz"}`:                                  CodeBadSDP,
		`{"type":"candidate","candidate":{"candidate":"candidate:x"}}`:          CodeBadMessage,
		`{"type":"candidate"}`:                                                  CodeBadMessage,
		`{"type":"mute","kind":"screen","muted":true}`:                          CodeBadMessage,
		`{"type":"hand"}`:                                                       CodeBadMessage,
		`{"type":"moderate","action":"kick","participant":"p1"}`:                CodeBadMessage,
		`{"type":"moderate","action":"mute"}`:                                   CodeBadMessage,
		`{"type":"promote"}`:                                                    CodeBadMessage,
		`{"type":"lock"}`:                                                       CodeBadMessage,
		`{"type":"question","text":""}`:                                         CodeBadMessage,
		`{"type":"promote","participant":"p1","role":"host"}`:                   CodeBadMessage,
		`{"type":"end","by":"p1"}`:                                              CodeBadMessage,
		`{"type":"set_quality","track":"t1","quality":"ultra"}`:                 CodeBadMessage,
		`{"type":"set_quality","track":"t1"}`:                                   CodeBadMessage,
		`{"type":"resume","token":"short"}`:                                     CodeBadMessage,
		`{"type":"resume","seq":3}`:                                             CodeBadMessage,
		`{"type":"join","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`: CodeBadMessage,
		`{"type":"chat","text":"x","seq":4}`:                                    CodeBadMessage,
		`{"type":"join","guest_key":"not a key"}`:                               CodeBadMessage,
		`{"type":"reaction","emoji":"💩"}`:                                       CodeBadMessage,
		`{"type":"reaction"}`:                                                   CodeBadMessage,
		`{"type":"chat","text":"x","emoji":"👍"}`:                                CodeBadMessage,
		`{"type":"chat","text":"x","count":3}`:                                  CodeBadMessage,
		`{"type":"set_quality","quality":"low"}`:                                CodeBadMessage,
		`{"type":"set_quality","track":"t1","width":-1,"height":3}`:             CodeBadMessage,
		`{"type":"admit","participant":"../x"}`:                                 CodeBadMessage,
		`{"type":"webinar_chat"}`:                                               CodeBadMessage,
		`{"type":"webinar_chat","webinar_chat":"attendees"}`:                    CodeBadMessage,
		`{"type":"chat","text":"x","webinar_chat":"off"}`:                       CodeBadMessage,
		`{"type":"chat","text":"` + strings.Repeat("é", MaxChat+1) + `"}`:       CodeBadMessage,
		`{"type":"chat","text":"` + strings.Repeat("x", MaxMessage) + `"}`:      CodeTooLarge,
	}
	for s, code := range bad {
		_, err := Parse([]byte(s))
		var e *Error
		if !errors.As(err, &e) || e.Code != code {
			t.Errorf("%.60s: %v, want %s", s, err, code)
		}
	}
}

// FuzzParse: no input panics, and whatever is accepted is a known type
// that survives a round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"join"}`, `{"type":"chat","text":"x"}`, `{"type":"hand","raised":true}`,
		`{"type":"publish","tracks":[{"kind":"audio","source":"microphone"}]}`,
		`{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5 typ host"}}`,
		`{"type":"mute","kind":"audio","muted":false}`, `{"type":"admit","participant":"p1"}`, `{"type":"reaction","emoji":"🎉"}`,
		`{"type":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1}`, `{`, `null`, `""`,
		`{"type":"webinar_chat","webinar_chat":"stage"}`, `{"type":"chat","text":"x","webinar_chat":"off"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		switch m.Type {
		case TypeJoin, TypeLeave, TypePublish, TypeUnpublish, TypeAnswer, TypeOffer, TypeCandidate,
			TypeMute, TypeChat, TypeHand, TypeAdmit, TypeDeny, TypePromote, TypeDemote, TypeModerate,
			TypeLock, TypeEnd, TypeQuestion, TypeSetQuality, TypeRestartICE, TypeResume, TypeReaction, TypeWebinarChat:
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}

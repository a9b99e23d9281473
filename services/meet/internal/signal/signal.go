// Package signal is meet's signalling protocol: the JSON messages a
// participant's websocket carries (docs/meet-protocol.md), and a strict
// parser for what clients send. Anything the parser refuses is a protocol
// error that ends that participant's socket and nobody else's.
package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// MaxMessage bounds one client message (bytes). An SDP answer for a room
// with dozens of forwarded tracks stays well under it.
const MaxMessage = 128 << 10

// Limits on client-chosen content.
const (
	MaxChat           = 4000 // runes of a chat message
	MaxCandidate      = 1024 // bytes of an ICE candidate line
	MaxPublishTracks  = 4    // microphone, camera, screen, screen audio
	maxID             = 64
	maxDisplayNameLen = 128
)

// Client → server types.
const (
	TypeJoin      = "join"
	TypePublish   = "publish"
	TypeUnpublish = "unpublish"
	TypeAnswer    = "answer"
	TypeOffer     = "offer"
	TypeCandidate = "candidate"
	TypeMute      = "mute"
	TypeChat      = "chat"
	TypeHand      = "hand"
	TypeAdmit     = "admit"
	TypeDeny      = "deny"
	TypeLeave     = "leave"
	// Moderation (host, moderators) and webinars.
	TypePromote  = "promote"  // attendee → speaker
	TypeDemote   = "demote"   // speaker → attendee
	TypeModerate = "moderate" // action mute|stop_video|remove on a participant
	TypeLock     = "lock"     // locked: bool (shared with the server's event)
	TypeEnd      = "end"      // end the meeting for everyone
	TypeQuestion = "question" // Q&A: to hosts, moderators, presenters (shared)
	// Simulcast: the quality (or rendered size) a subscriber wants of a track.
	TypeSetQuality = "set_quality"
	// The client's network changed or dropped: the server offers again
	// with new ICE credentials (ICE restart), the room is kept.
	TypeRestartICE = "restart_ice"
	// Resume re-attaches a new websocket to a participant whose socket
	// dropped (token from joined/lobby, seq: the last message received).
	TypeResume = "resume"
	// Reaction: an emoji of Reactions, shown briefly (shared).
	TypeReaction = "reaction"
	// WebinarChat: who may chat in a webinar, changed live by a host or
	// moderator (shared: the server tells everyone).
	TypeWebinarChat = "webinar_chat"
)

// Webinar chat settings (the webinar_chat field).
const (
	ChatEveryone = "everyone"
	ChatStage    = "stage"
	ChatOff      = "off"
)

// Server → client types (offer, candidate, mute, chat, hand are shared).
const (
	TypeJoined            = "joined"
	TypeLobby             = "lobby"
	TypeDenied            = "denied"
	TypeLobbyRequest      = "lobby_request"
	TypeLobbyLeft         = "lobby_left"
	TypeParticipantJoined = "participant_joined"
	TypeParticipantLeft   = "participant_left"
	TypeTrackPublished    = "track_published"
	TypeTrackUnpublished  = "track_unpublished"
	TypeError             = "error"
	TypeRole              = "role"      // participant, role: a role changed
	TypeModerated         = "moderated" // to the target: action, by
	TypeRemoved           = "removed"   // to the target, before the close
	TypeEnded             = "ended"     // to everyone, before the close
	TypeActiveSpeaker     = "active_speaker"
	TypeResumed           = "resumed" // the socket is re-attached; missed messages follow
	TypeCount             = "count"   // webinar: the number of participants (at most every second)
	// Answered: the server applied the client's answer. A client sends
	// media on a new m-line only then: RTP that arrives before the SFU has
	// the answer cannot be matched to its simulcast layer and is lost with
	// its stream (pion drops an SSRC it cannot place).
	TypeAnswered = "answered"
)

// Moderation actions.
const (
	ActionMute      = "mute"
	ActionStopVideo = "stop_video"
	ActionRemove    = "remove"
	// ActionRemoveRevoke removes a guest and revokes the guest link they
	// came through: nobody enters with that link any more.
	ActionRemoveRevoke = "remove_revoke_link"
)

// Reactions is the allowed set of emoji reactions.
var Reactions = []string{"👍", "👏", "❤️", "😂", "😮", "🎉", "✋"}

// IsReaction reports whether e is one of Reactions.
func IsReaction(e string) bool {
	for _, r := range Reactions {
		if r == e {
			return true
		}
	}
	return false
}

// Track kinds and sources.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

var sources = map[string]string{"microphone": KindAudio, "camera": KindVideo, "screen": KindVideo, "screen_audio": KindAudio}

// Candidate is an ICE candidate as the browser's RTCIceCandidateInit.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// TrackSpec is a track a client wants to publish.
type TrackSpec struct {
	Kind   string `json:"kind"`
	Source string `json:"source"`
	// Simulcast (video only): the server's offer declares three receive
	// encodings, rids q, h, f (a=simulcast:recv q;h;f), for browsers.
	Simulcast bool `json:"simulcast,omitempty"`
}

// Message is every message, both ways: one flat shape keeps the browser
// side trivial; unused fields are omitted.
type Message struct {
	Type string `json:"type"`

	SDP       string       `json:"sdp,omitempty"`
	Candidate *Candidate   `json:"candidate,omitempty"`
	Tracks    []TrackSpec  `json:"tracks,omitempty"`
	Track     string       `json:"track,omitempty"`       // a track id
	Kind      string       `json:"kind,omitempty"`        // mute: audio|video
	Muted     *bool        `json:"muted,omitempty"`       // mute
	Raised    *bool        `json:"raised,omitempty"`      // hand
	Text      string       `json:"text,omitempty"`        // chat
	ID        string       `json:"participant,omitempty"` // admit, deny, promote, demote, moderate; sender of events
	Self      *Participant `json:"self,omitempty"`
	Action    string       `json:"action,omitempty"`  // moderate, moderated
	Locked    *bool        `json:"locked,omitempty"`  // lock
	Quality   string       `json:"quality,omitempty"` // set_quality: low|medium|high
	Width     int          `json:"width,omitempty"`   // set_quality: rendered size (CSS px × devicePixelRatio)
	Height    int          `json:"height,omitempty"`
	Emoji     string       `json:"emoji,omitempty"` // reaction
	// WebinarChat: webinar_chat (both ways): everyone | stage | off.
	WebinarChat string `json:"webinar_chat,omitempty"`
	// Token: resume (client) and joined/lobby (server): the resume token.
	Token string `json:"token,omitempty"`
	// Seq: resume only: the seq of the last message the client received.
	// Every server message carries its seq (added when it is sent).
	Seq uint64 `json:"seq,omitempty"`
	// GuestKey: a guest's persistent key (join, resume); the server
	// issues one in lobby when the guest sent none.
	GuestKey string `json:"guest_key,omitempty"`

	// Server → client only.
	Room         *Room         `json:"room,omitempty"`
	Participants []Participant `json:"participants,omitempty"`
	Published    []Track       `json:"published,omitempty"`
	Participant  *Participant  `json:"member,omitempty"`
	Info         *Track        `json:"track_info,omitempty"`
	Name         string        `json:"name,omitempty"`
	Time         int64         `json:"ts,omitempty"` // unix ms
	Code         string        `json:"code,omitempty"`
	Message      string        `json:"message,omitempty"`
	Role         string        `json:"role,omitempty"`        // role
	By           string        `json:"by,omitempty"`          // moderated: who acted
	Speaker      string        `json:"speaker,omitempty"`     // joined: the active speaker
	ICEServers   []ICEServer   `json:"ice_servers,omitempty"` // joined: TURN with credentials
	Count        int           `json:"count,omitempty"`       // joined, count: participants in the room
}

// ICEServer is an RTCIceServer: TURN URLs and time-limited credentials.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Room describes the room in joined and lobby messages.
type Room struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Kind   string `json:"kind,omitempty"` // meeting | webinar
	Locked bool   `json:"locked,omitempty"`
	// WebinarChat (webinars): who may chat, everyone | stage | off.
	WebinarChat string `json:"webinar_chat,omitempty"`
}

// Participant is a member of the room as others see it.
type Participant struct {
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Ministry string `json:"ministry,omitempty"`
	External bool   `json:"external,omitempty"`
	Guest    bool   `json:"guest,omitempty"` // came through a guest link (« invité »)
	Hand     bool   `json:"hand,omitempty"`
	Audio    bool   `json:"audio_muted,omitempty"`
	Video    bool   `json:"video_muted,omitempty"`
}

// Track is a published track as subscribers see it: StreamID and ID match
// the msid of the m-line the server offers for it.
type Track struct {
	ID          string `json:"id"`
	StreamID    string `json:"stream_id"`
	Participant string `json:"participant"`
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	Simulcast   bool   `json:"simulcast,omitempty"`
}

// Error is a protocol error: Code is sent to the client before its socket
// is closed.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

func fail(code, format string, a ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Error codes.
const (
	CodeBadMessage  = "bad_message"
	CodeUnknownType = "unknown_type"
	CodeTooLarge    = "too_large"
	CodeBadSDP      = "bad_sdp"
	CodeForbidden   = "forbidden"
	CodeNotAdmitted = "not_admitted"
	CodeNotFound    = "not_found"
	CodeUnsupported = "unsupported"
	CodeInternal    = "internal"
	CodeRoomFull    = "room_full"
	// CodeRateLimited: too many chat messages, questions, reactions or
	// hand changes; the message was dropped, the socket stays open.
	CodeRateLimited = "rate_limited"
	// CodeResumeFailed: the session cannot be resumed (unknown or expired
	// token, another identity, too many missed messages): join again.
	CodeResumeFailed = "resume_failed"
	// CodeChatDisabled: in this webinar attendees cannot chat
	// (webinar_chat off); the socket stays open.
	CodeChatDisabled = "chat_disabled"
)

// Parse decodes and validates one client message. It never panics on any
// input (fuzzed) and checks everything that does not need room state.
func Parse(b []byte) (*Message, error) {
	if len(b) > MaxMessage {
		return nil, fail(CodeTooLarge, "message of %d bytes exceeds %d", len(b), MaxMessage)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fail(CodeBadMessage, "invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, fail(CodeBadMessage, "trailing data after the message")
	}
	// Server-only fields are refused rather than ignored: a client sending
	// them is confused or probing.
	if m.Self != nil || m.Room != nil || m.Participants != nil || m.Published != nil || m.Participant != nil ||
		m.Info != nil || m.Name != "" || m.Time != 0 || m.Code != "" || m.Message != "" || m.Role != "" || m.By != "" || m.Speaker != "" || m.ICEServers != nil || m.Count != 0 {
		return nil, fail(CodeBadMessage, "server-only field in a %q message", m.Type)
	}
	if (m.Token != "" || m.Seq != 0) && m.Type != TypeResume {
		return nil, fail(CodeBadMessage, "token and seq belong to resume")
	}
	if m.GuestKey != "" && m.Type != TypeJoin && m.Type != TypeResume {
		return nil, fail(CodeBadMessage, "guest_key belongs to join and resume")
	}
	if m.GuestKey != "" && !ValidToken(m.GuestKey) {
		return nil, fail(CodeBadMessage, "malformed guest_key")
	}
	if m.Emoji != "" && m.Type != TypeReaction {
		return nil, fail(CodeBadMessage, "emoji belongs to reaction")
	}
	if m.WebinarChat != "" && m.Type != TypeWebinarChat {
		return nil, fail(CodeBadMessage, "webinar_chat belongs to the webinar_chat message")
	}
	switch m.Type {
	case TypeJoin, TypeLeave, TypeEnd, TypeRestartICE:
	case TypeResume:
		if !ValidToken(m.Token) {
			return nil, fail(CodeBadMessage, "resume needs the token given at join")
		}
	case TypeReaction:
		if !IsReaction(m.Emoji) {
			return nil, fail(CodeBadMessage, "emoji must be one of %s", strings.Join(Reactions, " "))
		}
	case TypePromote, TypeDemote:
		if err := checkID("participant", m.ID); err != nil {
			return nil, err
		}
	case TypeModerate:
		if m.Action != ActionMute && m.Action != ActionStopVideo && m.Action != ActionRemove && m.Action != ActionRemoveRevoke {
			return nil, fail(CodeBadMessage, "moderate needs action mute|stop_video|remove|remove_revoke_link")
		}
		if err := checkID("participant", m.ID); err != nil {
			return nil, err
		}
	case TypeSetQuality:
		if err := checkID("track", m.Track); err != nil {
			return nil, err
		}
		if m.Width < 0 || m.Height < 0 || m.Width > 16384 || m.Height > 16384 {
			return nil, fail(CodeBadMessage, "width and height must be 0 to 16384")
		}
		switch m.Quality {
		case "low", "medium", "high":
		case "":
			if m.Width == 0 && m.Height == 0 {
				return nil, fail(CodeBadMessage, "set_quality needs quality or width/height")
			}
		default:
			return nil, fail(CodeBadMessage, "quality must be low, medium or high")
		}
	case TypeWebinarChat:
		if m.WebinarChat != ChatEveryone && m.WebinarChat != ChatStage && m.WebinarChat != ChatOff {
			return nil, fail(CodeBadMessage, "webinar_chat must be everyone, stage or off")
		}
	case TypeLock:
		if m.Locked == nil {
			return nil, fail(CodeBadMessage, "lock needs locked")
		}
	case TypeQuestion:
		if m.Text == "" || !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > MaxChat {
			return nil, fail(CodeBadMessage, "question text must be 1 to %d characters", MaxChat)
		}
	case TypePublish:
		if len(m.Tracks) == 0 || len(m.Tracks) > MaxPublishTracks {
			return nil, fail(CodeBadMessage, "publish needs 1 to %d tracks", MaxPublishTracks)
		}
		for _, t := range m.Tracks {
			if k, ok := sources[t.Source]; !ok || k != t.Kind {
				return nil, fail(CodeBadMessage, "bad track kind/source %q/%q", t.Kind, t.Source)
			}
			if t.Simulcast && t.Kind != KindVideo {
				return nil, fail(CodeBadMessage, "simulcast is for video tracks")
			}
		}
	case TypeUnpublish:
		if err := checkID("track", m.Track); err != nil {
			return nil, err
		}
	case TypeAnswer, TypeOffer:
		if err := CheckSDP(m.SDP); err != nil {
			return nil, err
		}
	case TypeCandidate:
		c := m.Candidate
		if c == nil || len(c.Candidate) > MaxCandidate || !utf8.ValidString(c.Candidate) {
			return nil, fail(CodeBadMessage, "candidate missing or longer than %d bytes", MaxCandidate)
		}
		// An empty candidate is the end-of-candidates marker.
		if c.Candidate != "" {
			if _, err := ice.UnmarshalCandidate(c.Candidate); err != nil {
				return nil, fail(CodeBadMessage, "not an ICE candidate line")
			}
		}
		if c.SDPMid != nil && len(*c.SDPMid) > maxID {
			return nil, fail(CodeBadMessage, "sdpMid too long")
		}
	case TypeMute:
		if (m.Kind != KindAudio && m.Kind != KindVideo) || m.Muted == nil {
			return nil, fail(CodeBadMessage, "mute needs kind audio|video and muted")
		}
	case TypeChat:
		if m.Text == "" || !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > MaxChat {
			return nil, fail(CodeBadMessage, "chat text must be 1 to %d characters", MaxChat)
		}
	case TypeHand:
		if m.Raised == nil {
			return nil, fail(CodeBadMessage, "hand needs raised")
		}
	case TypeAdmit, TypeDeny:
		if err := checkID("participant", m.ID); err != nil {
			return nil, err
		}
	case "":
		return nil, fail(CodeBadMessage, "missing type")
	default:
		return nil, fail(CodeUnknownType, "unknown message type %q", truncate(m.Type, 32))
	}
	return &m, nil
}

// CheckSDP refuses what is not a parsable session description, before it
// reaches the WebRTC stack.
func CheckSDP(s string) error {
	if s == "" || len(s) > MaxMessage || !strings.HasPrefix(s, "v=0") || !utf8.ValidString(s) {
		return fail(CodeBadSDP, "not a session description")
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return fail(CodeBadSDP, "unparsable session description: %v", err)
	}
	return nil
}

// TokenLen is the length of resume tokens, guest keys and guest link
// tokens: 32 random bytes in unpadded base64url.
const TokenLen = 43

// ValidToken reports whether s has the form of a resume token, guest key
// or guest link token (checked before any lookup).
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func checkID(field, s string) error {
	if s == "" || len(s) > maxID {
		return fail(CodeBadMessage, "%s id missing or too long", field)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fail(CodeBadMessage, "%s id has invalid characters", field)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// AsError gives the protocol error in err, or an internal one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Msg: "internal error"}
}

// MaxDisplayName bounds display names echoed to others.
func MaxDisplayName(s string) string {
	if utf8.RuneCountInString(s) <= maxDisplayNameLen {
		return s
	}
	return string([]rune(s)[:maxDisplayNameLen])
}

// ExtmapID is the id an SDP gives a header extension (0: not negotiated).
// Clients read it from their local description to stamp their packets.
func ExtmapID(sdp, uri string) uint8 {
	for _, line := range strings.Split(sdp, "\r\n") {
		var id uint8
		var u string
		if _, err := fmt.Sscanf(line, "a=extmap:%d %s", &id, &u); err == nil && u == uri {
			return id
		}
	}
	return 0
}

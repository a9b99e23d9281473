package directory

import "strings"

// Ministry is one ministry of the State, recognised by SIRET or email domain.
type Ministry struct {
	ID      string
	Name    string
	Domains []string
	SIRETs  []string
}

// Ministries resolves an agent's ministry. The SIRET (from ProConnect) wins
// over the email domain: agents keep historical addresses after a reshuffle.
type Ministries struct {
	list []Ministry
}

// NewMinistries indexes the configured ministries.
func NewMinistries(list []Ministry) *Ministries { return &Ministries{list: list} }

// Resolve returns the ministry of an agent, or ok=false for an external.
func (m *Ministries) Resolve(email, siret string) (Ministry, bool) {
	for _, x := range m.list {
		for _, s := range x.SIRETs {
			if siret != "" && s == siret {
				return x, true
			}
		}
	}
	_, domain, _ := strings.Cut(strings.ToLower(email), "@")
	for _, x := range m.list {
		for _, d := range x.Domains {
			d = strings.ToLower(d)
			if domain == d || strings.HasSuffix(domain, "."+d) {
				return x, true
			}
		}
	}
	return Ministry{}, false
}

// Get returns the ministry with id.
func (m *Ministries) Get(id string) (Ministry, bool) {
	for _, x := range m.list {
		if x.ID == id {
			return x, true
		}
	}
	return Ministry{}, false
}

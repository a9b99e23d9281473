package devidp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// Seeded ministries' SIRETs (14 digits; the Intérieur one is the value the
// rest of the suite's fixtures use) and the external partner's company SIRET.
const (
	SIRETInterieur = "11000001200013"
	SIRETFinances  = "11002001300097"
	SIRETPartner   = "73282932000074"
)

// DefaultSeed is the population of `make run`: two agents of the Ministère de
// l'Intérieur, one of the Ministère de l'Économie et des Finances, and an
// external partner who belongs to no ministry.
func DefaultSeed() ([]Agent, []Ministry) {
	ministries := []Ministry{
		{Domain: "interieur.gouv.fr", Name: "Ministère de l'Intérieur", SIRET: SIRETInterieur},
		{Domain: "finances.gouv.fr", Name: "Ministère de l'Économie et des Finances", SIRET: SIRETFinances},
	}
	agent := func(email, given, usual, siret, ou, phone string) Agent {
		return Agent{
			Sub: SubFor(email), Email: email, GivenName: given, UsualName: usual,
			UID: uidFor(email), SIRET: siret, IdpID: idpIDFor(domainOf(email)),
			OrganizationalUnit: ou, Phone: phone,
		}
	}
	agents := []Agent{
		agent("alice.martin@interieur.gouv.fr", "Alice", "Martin", SIRETInterieur, "Direction du numérique", "0140000001"),
		agent("bruno.leroy@interieur.gouv.fr", "Bruno", "Leroy", SIRETInterieur, "Secrétariat général", "0140000002"),
		agent("chloe.bernard@finances.gouv.fr", "Chloé", "Bernard", SIRETFinances, "Direction générale des finances publiques", "0140000003"),
		agent("david.petit@partenaire.example", "David", "Petit", SIRETPartner, "", ""),
	}
	return agents, ministries
}

// SubFor is the deterministic sub of an email: stable across restarts, like
// ProConnect's per-account sub.
func SubFor(email string) string {
	h := sha256.Sum256([]byte("bureau-devidp-sub:" + strings.ToLower(email)))
	return hex.EncodeToString(h[:])
}

func uidFor(email string) string {
	h := sha256.Sum256([]byte("bureau-devidp-uid:" + strings.ToLower(email)))
	return hex.EncodeToString(h[:6])
}

// idpIDFor gives each email domain a stable UUID-shaped identity provider id,
// as ProConnect's idp_id names the identity provider the agent used.
func idpIDFor(domain string) string {
	h := sha256.Sum256([]byte("bureau-devidp-idp:" + domain))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

// normalizeEmail lower-cases and checks an address conservatively: it ends up
// in HTML, logs and tokens.
func normalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || len(s) > 254 || !strings.Contains(domain, ".") {
		return "", false
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_+", r)) {
			return "", false
		}
	}
	for _, r := range domain {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return "", false
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(s, "..") {
		return "", false
	}
	return s, true
}

// resolveAgent returns the seeded agent for email, or a synthetic agent for
// any address at a seeded ministry's domain. Other addresses are refused.
func (s *Server) resolveAgent(raw string) (Agent, bool) {
	email, ok := normalizeEmail(raw)
	if !ok {
		return Agent{}, false
	}
	if a, ok := s.byEmail[email]; ok {
		return a, true
	}
	m, ok := s.ministries[domainOf(email)]
	if !ok {
		return Agent{}, false
	}
	local, _, _ := strings.Cut(email, "@")
	local, _, _ = strings.Cut(local, "+")
	given, usual, found := strings.Cut(local, ".")
	if !found {
		// "prenom@…" alone: ProConnect always has a usual_name, so reuse it.
		usual = given
	}
	return Agent{
		Sub: SubFor(email), Email: email,
		GivenName: displayName(given), UsualName: displayName(usual),
		UID: uidFor(email), SIRET: m.SIRET, IdpID: idpIDFor(m.Domain),
	}, true
}

// displayName turns "jean-pierre" into "Jean-Pierre" and "de_la_tour" into "De La Tour".
func displayName(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "_", " "), ".", " ")
	var b strings.Builder
	upper := true
	for _, r := range s {
		if upper {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(r)
		}
		upper = r == ' ' || r == '-'
	}
	return b.String()
}

// ministryName is the name of the ministry an agent's email belongs to, or "".
func (s *Server) ministryName(email string) string {
	return s.ministries[domainOf(email)].Name
}

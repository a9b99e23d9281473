package devidp

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// Pages are self-contained: inline styles only and no script at all, so the
// suite's CSP (script-src 'self') holds. No form-action directive: browsers
// apply it to the redirect that follows the login POST, which leaves our origin.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — Fournisseur d'identité de développement</title>
<style>
body{margin:0;font-family:Marianne,system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f6f6;color:#161616}
.banner{background:#b34000;color:#fff;padding:.6rem 1rem;font-weight:700;text-align:center}
main{max-width:38rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:.25rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin-top:0}
.error{background:#ffe9e9;border-left:4px solid #ce0500;padding:.75rem 1rem;margin:1rem 0}
.agents{list-style:none;padding:0}
.agents li{margin:.5rem 0}
button{font:inherit;cursor:pointer;white-space:nowrap;border:0;border-radius:.25rem;background:#000091;color:#fff;padding:.6rem 1rem}
button.agent{width:100%;text-align:left;white-space:normal;background:#f5f5fe;color:#000091;border:1px solid #000091}
button.agent small{display:block;color:#3a3a3a}
label{display:block;margin:1.5rem 0 .25rem;font-weight:700}
input[type=email]{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #666;border-radius:.25rem}
.row{display:flex;gap:.5rem;margin-top:.5rem}
.hint{color:#666;font-size:.875rem}
code{background:#eee;padding:0 .25rem}
</style></head><body>
<div class="banner" role="alert">Fournisseur d'identité de développement — ne pas utiliser en production</div>
<main>{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<h1>Connexion d'un agent</h1>
<p>Ce fournisseur imite ProConnect pour le développement local : aucune vérification n'est faite, choisissez simplement l'agent à incarner.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}<input type="hidden" name="csrf" value="{{.CSRF}}">
<ul class="agents">
{{range .Agents}}<li><button class="agent" type="submit" name="email" value="{{.Email}}">{{.GivenName}} {{.UsualName}}<small>{{.Email}} — {{.Org}}</small></button></li>
{{end}}</ul>
</form>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="email">Ou une autre adresse d'un ministère</label>
<div class="row"><input id="email" name="email" type="email" required autocomplete="off" placeholder="prenom.nom@{{.FirstDomain}}"><button type="submit">Se connecter</button></div>
<p class="hint">Domaines acceptés : {{range $i, $d := .Domains}}{{if $i}}, {{end}}<code>{{$d}}</code>{{end}}. Le prénom et le nom sont déduits de la partie locale « prenom.nom ».</p>
</form>
{{template "foot"}}{{end}}

{{define "message"}}{{template "head" .}}
<h1>{{.Title}}</h1>
{{if .Code}}<p class="error" role="alert"><strong>{{.Code}}</strong> — {{.Message}}</p>{{else}}<p>{{.Message}}</p>{{end}}
{{template "foot"}}{{end}}
`))

type loginAgent struct {
	Agent
	Org string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, p authParams, status int, errMsg string) {
	// Double-submit token: a cross-site page cannot read the cookie to copy it into its form.
	csrf := randomToken()
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 43 {
		csrf = c.Value
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: csrf, Path: s.base + "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
	agents := make([]loginAgent, 0, len(s.agents))
	for _, a := range s.agents {
		org := s.ministryName(a.Email)
		if org == "" {
			org = "partenaire externe (SIRET " + a.SIRET + ")"
		}
		agents = append(agents, loginAgent{a, org})
	}
	domains := make([]string, 0, len(s.ministries))
	for d := range s.ministries {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	first := "ministere.gouv.fr"
	if len(domains) > 0 {
		first = domains[0]
	}
	s.render(w, status, "login", map[string]any{
		"Title": "Connexion", "Action": s.base + "/authorize", "Hidden": p.hidden(), "CSRF": csrf,
		"Agents": agents, "Domains": domains, "FirstDomain": first, "Error": errMsg,
	})
}

// errorPage is shown instead of redirecting when the redirect target cannot be trusted.
func (s *Server) errorPage(w http.ResponseWriter, status int, code, msg string) {
	s.render(w, status, "message", map[string]any{"Title": "Erreur", "Code": code, "Message": msg})
}

func (s *Server) messagePage(w http.ResponseWriter, title, msg string) {
	s.render(w, http.StatusOK, "message", map[string]any{"Title": title, "Message": msg})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimLeftFunc(buf.Bytes(), func(r rune) bool { return strings.ContainsRune(" \n\t", r) }))
}

{{/*
The configuration files the binaries read (-config), rendered from values.
Keys must exist in the Go config structs: the files are decoded strictly.
Secrets are not here: they come as BUREAU_* environment variables.
*/}}

{{- define "bureau.config.gateway" -}}
{{- $v := .Values -}}
{{- $g := $v.gateway -}}
{{- $oidc := dict "issuer" $v.oidc.issuer "client_id" $v.oidc.clientId "require_acr" $v.oidc.requireACR -}}
{{- with $v.oidc.scopes }}{{ $_ := set $oidc "scopes" . }}{{ end -}}
{{- with $v.oidc.acrValues }}{{ $_ := set $oidc "acr_values" . }}{{ end -}}
{{- $services := dict -}}
{{- range $name := list "chat" "files" "meet" -}}
{{- $u := index $g.upstreams $name -}}
{{- $_ := set $services $name (dict "url" (include "bureau.serviceURL" (dict "root" $ "component" $name)) "max_body" (int64 $u.maxBody) "response_timeout" ($u.responseTimeout | toString)) -}}
{{- end -}}
{{- $ministries := list -}}
{{- range $v.ministries -}}
{{- $m := dict "id" .id "name" .name -}}
{{- with .domains }}{{ $_ := set $m "domains" . }}{{ end -}}
{{- with .sirets }}{{ $_ := set $m "sirets" (toStrings .) }}{{ end -}}
{{- $ministries = append $ministries $m -}}
{{- end -}}
{{- $cfg := dict
  "mode" $v.mode
  "public_url" (include "bureau.publicURL" .)
  "listen" (printf ":%v" $g.port)
  "ops_listen" (printf ":%v" $g.opsPort)
  "log" (dict "level" $v.log.level "format" $v.log.format)
  "oidc" $oidc
  "session" (dict "idle_timeout" ($g.session.idleTimeout | toString) "absolute_timeout" ($g.session.absoluteTimeout | toString))
  "identity" (dict "private_key_file" "/etc/bureau/identity/private" "token_ttl" ($v.identity.tokenTTL | toString))
  "services" $services
  "web" (dict "dir" $g.webDir)
  "rate_limit" (dict "user_rps" (float64 $g.rateLimit.userRPS) "user_burst" (int $g.rateLimit.userBurst) "ip_rps" (float64 $g.rateLimit.ipRPS) "ip_burst" (int $g.rateLimit.ipBurst) "auth_per_minute" (int $g.rateLimit.authPerMinute))
  "limits" (dict "max_body" (int64 $g.maxBody))
  "shutdown_drain" ($g.shutdownDrain | toString)
-}}
{{- with $ministries }}{{ $_ := set $cfg "ministries" . }}{{ end -}}
{{- with $g.trustedProxies }}{{ $_ := set $cfg "trusted_proxies" . }}{{ end -}}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy $g.extraConfig)) -}}
{{- end -}}

{{/* call with (dict "root" $ "component" "chat") */}}
{{- define "bureau.config.service" -}}
{{- $v := .root.Values -}}
{{- $c := index $v .component -}}
{{- $cfg := dict
  "listen" (printf ":%v" $c.port)
  "public_url" (include "bureau.publicURL" .root)
  "log" (dict "level" $v.log.level "format" $v.log.format)
  "shutdown_drain" ($c.shutdownDrain | toString)
-}}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy $c.extraConfig)) -}}
{{- end -}}

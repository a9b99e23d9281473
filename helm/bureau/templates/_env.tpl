{{/* Environment of each component: config path and secrets. */}}

{{- define "bureau.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{- define "bureau.redisEnv" -}}
{{- $v := .root.Values -}}
{{- if $v.redis.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sREDIS_URL" .prefix) "secret" $v.redis.existingSecret "key" $v.redis.urlKey) }}
{{- else if $v.redis.url }}
- name: {{ .prefix }}REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
{{- end -}}

{{- define "bureau.goEnv" -}}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
- name: TMPDIR
  value: /tmp
{{- end -}}

{{- define "bureau.env.gateway" -}}
{{- $v := .Values -}}
- name: BUREAU_GATEWAY_CONFIG
  value: /etc/bureau/gateway.yaml
{{- if $v.oidc.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" "BUREAU_GATEWAY_OIDC_CLIENT_SECRET" "secret" $v.oidc.existingSecret "key" $v.oidc.secretKey) }}
{{- end }}
{{- if $v.postgresql.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" "BUREAU_GATEWAY_DATABASE_URL" "secret" $v.postgresql.existingSecret "key" $v.postgresql.urlKey) }}
{{- end }}
{{- include "bureau.redisEnv" (dict "root" . "prefix" "BUREAU_GATEWAY_") }}
{{- if $v.proxy.httpsProxy }}
- name: HTTPS_PROXY
  value: {{ $v.proxy.httpsProxy | quote }}
- name: NO_PROXY
  value: {{ $v.proxy.noProxy | quote }}
{{- end }}
{{ include "bureau.goEnv" . }}
{{- with $v.gateway.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Services: today they read the common settings (listen, public_url, log,
gateway_public_key, shutdown_drain). The data-store variables below follow
the same naming (section + field, like the gateway's DATABASE_URL) and are
ignored by a binary whose config has no such field yet: they are wired so
that the Secrets are in place when the services gain them.
*/}}
{{- define "bureau.env.service" -}}
{{- $v := .root.Values -}}
{{- $c := index $v .component -}}
{{- $p := printf "BUREAU_%s_" (upper .component) -}}
- name: {{ $p }}CONFIG
  value: /etc/bureau/{{ .component }}.yaml
{{- if $v.identity.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sGATEWAY_PUBLIC_KEY" $p) "secret" $v.identity.existingSecret "key" $v.identity.publicKey) }}
{{- end }}
{{- if and (has .component (list "chat" "files" "meet")) $v.postgresql.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sDATABASE_URL" $p) "secret" $v.postgresql.existingSecret "key" $v.postgresql.urlKey) }}
{{- end }}
{{- include "bureau.redisEnv" (dict "root" .root "prefix" $p) }}
{{- if eq .component "files" }}
- name: {{ $p }}STORAGE_KIND
  value: "s3"
{{- with $v.s3.endpoint }}
- name: {{ $p }}STORAGE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: {{ $p }}STORAGE_S3_BUCKET
  value: {{ $v.s3.bucket | quote }}
{{- with $v.s3.region }}
- name: {{ $p }}STORAGE_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- with $v.s3.prefix }}
- name: {{ $p }}STORAGE_S3_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- if $v.s3.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sSTORAGE_S3_ACCESS_KEY" $p) "secret" $v.s3.existingSecret "key" $v.s3.accessKeyKey) }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sSTORAGE_S3_SECRET_KEY" $p) "secret" $v.s3.existingSecret "key" $v.s3.secretKeyKey) }}
{{- end }}
{{- with $v.clamav.address }}
- name: {{ $p }}CLAMAV_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq .component "chat" }}
{{- /* The media repository shares the bucket under its own prefix. */}}
- name: {{ $p }}MEDIA_STORAGE_KIND
  value: "s3"
{{- with $v.s3.endpoint }}
- name: {{ $p }}MEDIA_STORAGE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: {{ $p }}MEDIA_STORAGE_S3_BUCKET
  value: {{ $v.s3.bucket | quote }}
{{- with $v.s3.region }}
- name: {{ $p }}MEDIA_STORAGE_S3_REGION
  value: {{ . | quote }}
{{- end }}
- name: {{ $p }}MEDIA_STORAGE_S3_PREFIX
  value: {{ printf "%schat-media/" ($v.s3.prefix | default "") | quote }}
{{- if $v.s3.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sMEDIA_STORAGE_S3_ACCESS_KEY" $p) "secret" $v.s3.existingSecret "key" $v.s3.accessKeyKey) }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sMEDIA_STORAGE_S3_SECRET_KEY" $p) "secret" $v.s3.existingSecret "key" $v.s3.secretKeyKey) }}
{{- end }}
{{- with $v.clamav.address }}
- name: {{ $p }}MEDIA_CLAMAV_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq .component "meet" }}
{{- /* Placement: the nodes sharing Redis proxy signalling to the room's
node at its pod address (docs/meet.md, several nodes). */}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: {{ $p }}PLACEMENT_NODE_ID
  value: "$(POD_NAME)"
- name: {{ $p }}PLACEMENT_ADVERTISE_URL
  value: {{ printf "http://$(POD_IP):%v" $c.port | quote }}
{{- if $c.media.enabled }}
- name: {{ $p }}ICE_UDP_LISTEN
  value: {{ printf "0.0.0.0:%v" $c.media.udpPort | quote }}
{{- if $c.media.hostNetwork }}
- name: HOST_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
- name: {{ $p }}ICE_NAT_1TO1_IPS
  value: "$(HOST_IP)"
{{- else if $c.media.advertiseAddress }}
- name: {{ $p }}ICE_NAT_1TO1_IPS
  value: {{ $c.media.advertiseAddress | quote }}
{{- end }}
{{- with $c.media.tcpPort }}
- name: {{ $p }}ICE_TCP_LISTEN
  value: {{ printf "0.0.0.0:%v" . | quote }}
{{- end }}
{{- end }}
- name: {{ $p }}MEDIA_CONGESTION_CONTROL
  value: {{ $c.congestionControl | quote }}
- name: {{ $p }}MEDIA_THREADS
  value: {{ $c.threads | default "adaptive" | quote }}
- name: {{ $p }}ROOMS_RESUME_GRACE
  value: {{ $c.resumeGrace | toString | quote }}
- name: {{ $p }}ROOMS_RETENTION_DAYS
  value: {{ $c.retentionDays | toString | quote }}
{{- range $name := list "chat" "question" "reaction" "hand" }}
{{- $l := index $c.limits $name }}
- name: {{ printf "%sLIMITS_%s_PER_SECOND" $p (upper $name) }}
  value: {{ $l.perSecond | toString | quote }}
- name: {{ printf "%sLIMITS_%s_BURST" $p (upper $name) }}
  value: {{ $l.burst | toString | quote }}
{{- end }}
{{- if $c.turn.enabled }}
- name: {{ $p }}TURN_REALM
  value: {{ $c.turn.realm | quote }}
- name: {{ $p }}TURN_URLS
  value: {{ $c.turn.urls | default (printf "turn:%s:%v?transport=udp,turn:%s:%v?transport=tcp" (regexReplaceAll "^https?://([^/:]+).*$" $v.publicURL "${1}") $c.turn.port (regexReplaceAll "^https?://([^/:]+).*$" $v.publicURL "${1}") $c.turn.port) | quote }}
{{- if $c.turn.existingSecret }}
{{ include "bureau.secretEnv" (dict "name" (printf "%sTURN_SECRET" $p) "secret" $c.turn.existingSecret "key" $c.turn.secretKey) }}
{{- end }}
{{- end }}
{{- end }}
{{ include "bureau.goEnv" . }}
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Names */}}
{{- define "bureau.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bureau.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>"; call with (dict "root" $ "component" "gateway") */}}
{{- define "bureau.componentName" -}}
{{- printf "%s-%s" (include "bureau.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bureau.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bureau.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bureau.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "bureau.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bureau
{{- end -}}

{{/* call with (dict "root" $ "component" "chat") */}}
{{- define "bureau.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bureau.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "bureau.componentLabels" -}}
{{ include "bureau.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image reference; call with (dict "root" $ "image" .Values.gateway.image) */}}
{{- define "bureau.image" -}}
{{- $registry := default .root.Values.image.registry .image.registry -}}
{{- if not $registry -}}
{{- fail "image.registry must be set: Bureau pulls images only from the State's internal registry" -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s/%s@%s" $registry .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Public host, from ingress.host or publicURL */}}
{{- define "bureau.host" -}}
{{- if .Values.ingress.host -}}
{{- .Values.ingress.host -}}
{{- else if .Values.publicURL -}}
{{- (urlParse .Values.publicURL).host | splitList ":" | first -}}
{{- end -}}
{{- end -}}

{{/* The public URL the binaries get (placeholder keeps rendering possible) */}}
{{- define "bureau.publicURL" -}}
{{- .Values.publicURL | trimSuffix "/" -}}
{{- end -}}

{{/* Internal URL of a service as the gateway reaches it */}}
{{- define "bureau.serviceURL" -}}
{{- $svc := index .root.Values .component -}}
{{- printf "http://%s.%s.svc:%v" (include "bureau.componentName" .) .root.Release.Namespace $svc.port -}}
{{- end -}}

{{/* Settings that are REQUIRED and missing, one per line */}}
{{- define "bureau.missing" -}}
{{- $v := .Values -}}
{{- if not $v.publicURL }}
publicURL
{{- end }}
{{- if not $v.oidc.issuer }}
oidc.issuer
{{- end }}
{{- if not $v.oidc.clientId }}
oidc.clientId
{{- end }}
{{- if not $v.oidc.existingSecret }}
oidc.existingSecret
{{- end }}
{{- if not $v.identity.existingSecret }}
identity.existingSecret
{{- end }}
{{- if not $v.postgresql.existingSecret }}
postgresql.existingSecret
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.tlsSecretName) }}
ingress.tlsSecretName
{{- end }}
{{- if and (not $v.redis.url) (not $v.redis.existingSecret) (or $v.gateway.autoscaling.enabled (gt (int $v.gateway.replicas) 1)) }}
redis.url or redis.existingSecret (the gateway runs more than one replica)
{{- end }}
{{- if and (not $v.redis.url) (not $v.redis.existingSecret) (gt (int $v.chat.replicas) 1) }}
redis.url or redis.existingSecret (chat runs more than one replica: its send rate limits, /sync and media wake-ups go through Redis)
{{- end }}
{{- end -}}

{{/* Pod-level pieces shared by every component; call with (dict "root" $ "component" "chat") */}}
{{- define "bureau.podSpecCommon" -}}
{{- $c := index .root.Values .component -}}
serviceAccountName: {{ include "bureau.serviceAccountName" .root }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $c.affinity }}
affinity:
  {{- toYaml $c.affinity | nindent 2 }}
{{- else if and (eq .component "meet") $c.media.hostNetwork }}
{{- /* Host-network meet pods take their node's media ports: one per node. */}}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "bureau.selectorLabels" . | nindent 12 }}
{{- else }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "bureau.selectorLabels" . | nindent 14 }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations: config checksum and Prometheus scrape hints */}}
{{- define "bureau.podAnnotations" -}}
{{- $c := index .root.Values .component -}}
{{- if eq .component "gateway" }}
checksum/config: {{ include "bureau.config.gateway" .root | sha256sum }}
{{- else }}
checksum/config: {{ include "bureau.config.service" . | sha256sum }}
{{- end }}
{{- if .root.Values.monitoring.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .metricsPort | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with $c.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* preStop hook */}}
{{- define "bureau.lifecycle" -}}
{{- if and (gt (int .Values.preStopSleepSeconds) 0) (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int .Values.preStopSleepSeconds }}
{{- end }}
{{- end -}}

{{/* Grace period: drain + preStop + margin */}}
{{- define "bureau.terminationGrace" -}}
{{- $c := index .root.Values .component -}}
{{- $d := $c.shutdownDrain | toString -}}
{{- $secs := 30 -}}
{{- if hasSuffix "m" $d -}}{{- $secs = mul (trimSuffix "m" $d | int) 60 -}}
{{- else if hasSuffix "s" $d -}}{{- $secs = trimSuffix "s" $d | int -}}
{{- end -}}
{{- add $secs (int .root.Values.preStopSleepSeconds) 15 -}}
{{- end -}}

{{/* Egress rule to one data store; call with (dict "store" .Values.networkPolicy.egress.postgresql) */}}
{{- define "bureau.egressRule" -}}
- ports:
  {{- range .store.ports }}
    - protocol: TCP
      port: {{ . }}
  {{- end }}
  {{- with .store.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* DNS egress */}}
{{- define "bureau.dnsEgress" -}}
- ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
  to:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      {{- with .Values.networkPolicy.dns.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* Ingress peer: the monitoring namespace */}}
{{- define "bureau.monitoringPeer" -}}
- namespaceSelector:
    {{- toYaml .Values.networkPolicy.monitoring.namespaceSelector | nindent 4 }}
  {{- with .Values.networkPolicy.monitoring.podSelector }}
  podSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

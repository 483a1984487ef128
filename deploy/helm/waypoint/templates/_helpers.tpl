{{- define "waypoint.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "waypoint.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "waypoint.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "waypoint.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "waypoint.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "waypoint.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{- define "waypoint.secretName" -}}
{{ required "existingSecret is required: the name of a Secret holding DATABASE_URL (see values.yaml)" .Values.existingSecret }}
{{- end -}}

{{/* Environment shared by the services and the migration Job. */}}
{{- define "waypoint.env" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: KAFKA_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: JWT_JWKS_URL
  value: {{ required "auth.jwksUrl is required (the identity provider's JWKS URL)" .Values.auth.jwksUrl | quote }}
- name: JWT_ISSUER
  value: {{ required "auth.issuer is required (exactly the tokens' iss)" .Values.auth.issuer | quote }}
- name: JWT_AUDIENCE
  value: {{ required "auth.audience is required" .Values.auth.audience | quote }}
- name: DB_APP_USER
  value: {{ .Values.database.appUser | quote }}
- name: HTTP_HOST
  value: "0.0.0.0"
{{- range $key, $value := .Values.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* A service's Kafka login (nothing with PLAINTEXT): its own principal svc-<service>, the password
from its own Secret; in notifications, the agency copier's principal too when it runs there. */}}
{{- define "waypoint.kafkaPrincipal" -}}
{{- $kafka := .root.Values.kafka -}}
{{- if ne $kafka.securityProtocol "PLAINTEXT" }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $kafka.securityProtocol | quote }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $kafka.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: svc-{{ .name }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $kafka.sasl.secretPrefix }}-svc-{{ .name }}, key: password}
{{- if $kafka.caSecret }}
- name: KAFKA_SSL_CAFILE
  value: /etc/waypoint/kafka-ca/ca.pem
{{- end }}
{{- if and (eq .name "notifications") (eq (toString (index .cfg.env "NOTIFICATIONS_AGENCY_TOPICS" | default "false")) "true") }}
- name: NOTIFICATIONS_COPIER_KAFKA_USERNAME
  value: agency-copier
- name: NOTIFICATIONS_COPIER_KAFKA_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $kafka.sasl.secretPrefix }}-agency-copier, key: password}
{{- end }}
{{- end }}
{{- end -}}

{{/* Chart name, at most 63 characters (a label value). */}}
{{- define "pachops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name of every object; components append -bot, -worker… (kept under 63 with them). */}}
{{- define "pachops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 56 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pachops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels; call with (dict "root" $ "component" "bot"). Selectors are immutable: keep these few. */}}
{{- define "pachops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pachops.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* All labels; call with (dict "root" $ "component" "bot"), component optional. */}}
{{- define "pachops.labels" -}}
helm.sh/chart: {{ include "pachops.chart" .root }}
{{ include "pachops.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: pachops
{{- end }}

{{- define "pachops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pachops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pachops.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Namespaces given the Role, space-separated: rbac.namespace (default the release's) and extraNamespaces. */}}
{{- define "pachops.rbacNamespaces" -}}
{{- $all := prepend (.Values.rbac.extraNamespaces | default list) (.Values.rbac.namespace | default .Release.Namespace) }}
{{- $all | uniq | join " " }}
{{- end }}

{{/* The variables a config names in keys ending in Env (passwordEnv, accessKeyIdEnv…), one a line. */}}
{{- define "pachops.configSecretVars" -}}
{{- if kindIs "map" . }}
{{- range $key, $value := . }}
{{- if and (hasSuffix "Env" $key) (kindIs "string" $value) }}
{{ $value }}
{{- else if or (kindIs "map" $value) (kindIs "slice" $value) }}
{{ include "pachops.configSecretVars" $value }}
{{- end }}
{{- end }}
{{- else if kindIs "slice" . }}
{{- range . }}
{{ include "pachops.configSecretVars" . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Secret variables a component gets from existingSecret; call with (dict "root" $ "component" "bot"). */}}
{{- define "pachops.secretVars" -}}
{{- $vars := list "SLACK_BOT_TOKEN" }}
{{- if eq .component "bot" }}
{{- if .root.Values.slack.socketMode }}
{{- $vars = append $vars "SLACK_APP_TOKEN" }}
{{- else }}
{{- $vars = append $vars "SLACK_SIGNING_SECRET" }}
{{- end }}
{{- end }}
{{- $fromConfig := include "pachops.configSecretVars" .root.Values.config | splitList "\n" | compact | uniq | sortAlpha }}
{{- concat $vars $fromConfig | uniq | join " " }}
{{- end }}

{{/* The container's env; call with (dict "root" $ "component" "bot"). */}}
{{- define "pachops.env" -}}
{{- $root := .root -}}
- name: PACHOPS_CONFIG
  value: /etc/pachops/pachops.yaml
- name: PORT
  value: {{ $root.Values.bot.port | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
{{- with $root.Values.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ . | quote }}
{{- end }}
{{- range include "pachops.secretVars" . | splitList " " }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.existingSecret }}
      key: {{ . }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by the bot and the workers. */}}
{{- define "pachops.podCommon" -}}
serviceAccountName: {{ include "pachops.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "pachops.fullname" . }}
  # The root filesystem is read-only: helm's values file (mkdtemp) and pg tools' temporaries go to /tmp,
  # helm's and pachctl's own files to $HOME.
  - name: tmp
    emptyDir: {}
  - name: home
    emptyDir: {}
{{- with .Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container fields shared by the bot and the workers; call with (dict "root" $ "component" "bot"). */}}
{{- define "pachops.containerCommon" -}}
image: {{ include "pachops.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
env:
  {{- include "pachops.env" . | nindent 2 }}
volumeMounts:
  - name: config
    mountPath: /etc/pachops
    readOnly: true
  - name: tmp
    mountPath: /tmp
  - name: home
    mountPath: /home/pachops
{{- with .root.Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod template annotations: the config's checksum rolls the pods when pachops.yaml changes. */}}
{{- define "pachops.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "check.name" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end }}

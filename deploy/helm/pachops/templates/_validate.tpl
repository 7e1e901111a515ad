{{/*
Inputs checked at render time, each failing with what to set. pachops itself checks the whole config at
start; these are the mistakes that would otherwise surface only at the first backup (RBAC) or as a crash loop.
*/}}
{{- define "pachops.validate" -}}
{{- $_ := required "existingSecret is required: the name of a Secret holding SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (SLACK_APP_TOKEN in Socket Mode) and the variables config names in its …Env keys; the chart holds no secret itself" .Values.existingSecret }}
{{- $config := .Values.config | default dict }}
{{- if not (dig "slack" "approvers" list $config) }}
{{- fail "config.slack.approvers is required: Slack user ids (U…) or user-group ids (S…) who may approve phases" }}
{{- end }}
{{- $_ = required "config.redis.url is required: the Redis of BullMQ's queues, e.g. redis://redis:6379" (dig "redis" "url" "" $config) }}
{{- $_ = required "config.stateDatabase.url is required: pachops' own PostgreSQL, e.g. postgres://pachops@db:5432/pachops" (dig "stateDatabase" "url" "" $config) }}
{{- range $key := list "redis" "stateDatabase" }}
{{- if regexMatch "^[a-z]+://[^/@]*:[^/@]+@" (dig $key "url" "" $config) }}
{{- fail (printf "config.%s.url holds a password, and config is a ConfigMap: take it out (stateDatabase: name a variable of existingSecret in passwordEnv; Redis: reachable only from pachops, without one)" $key) }}
{{- end }}
{{- end }}
{{- if not (dig "clusters" dict $config) }}
{{- fail "config.clusters is empty: describe at least one Pachyderm cluster (keys in deploy/pachops.example.yaml)" }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.slack.socketMode }}
{{- fail "ingress.enabled needs slack.socketMode: false (in Socket Mode the bot dials out to Slack; nothing comes in)" }}
{{- end }}
{{- if .Values.rbac.create }}
{{- $covered := include "pachops.rbacNamespaces" . | splitList " " }}
{{- range $name, $cluster := $config.clusters }}
{{- $kube := $cluster.kubernetes | default dict }}
{{- if not $kube.context }}
{{- $ns := $kube.namespace | default "" }}
{{- $helmNs := dig "helm" "namespace" $ns $cluster }}
{{- range list $ns $helmNs }}
{{- if not (has . $covered) }}
{{- fail (printf "config.clusters.%s uses namespace %q through the chart's ServiceAccount, but the Role is only in %s: add it to rbac.extraNamespaces (or set rbac.namespace)" $name . (join ", " $covered)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "rr.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "rr.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rr.modelConfigName" -}}
{{- .Values.modelConfig.existingConfigMap | default .Values.modelConfig.name | default (printf "%s-models" (include "rr.fullname" .)) -}}
{{- end -}}

{{/* The query a consumer reads: one series whatever the number of recommender replicas. */}}
{{- define "rr.desiredQuery" -}}
max(inferno_desired_replicas{variantautoscaling_name="{{ .name }}",variantautoscaling_namespace="{{ .namespace }}"})
{{- end -}}

{{/* Prometheus headers as `Name: value` lines (the REPLICA_RECOMMENDER_PROMETHEUS_HEADER format). */}}
{{- define "rr.headerLines" -}}
{{- range $name, $value := . }}{{ printf "%s: %s\n" $name $value }}{{ end -}}
{{- end -}}

{{/* Prometheus headers in KEDA's customHeaders format: Name=value,Name=value. */}}
{{- define "rr.kedaHeaders" -}}
{{- $pairs := list }}{{ range $name, $value := . }}{{ $pairs = append $pairs (printf "%s=%s" $name $value) }}{{ end }}{{ join "," $pairs }}
{{- end -}}

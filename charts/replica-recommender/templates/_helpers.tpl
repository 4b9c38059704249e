{{- define "rr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "rr.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{- define "rr.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "rr.modelConfigName" -}}
{{- .Values.modelConfig.existingConfigMap | default .Values.modelConfig.name | default (printf "%s-models" (include "rr.fullname" .)) -}}
{{- end -}}

{{/* The image: replica-recommender:<appVersion> unless values say otherwise (scripts/image tags it so). */}}
{{- define "rr.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The wake token Secret's name: the existing one, the generated one, or "" for none. */}}
{{- define "rr.wakeTokenSecret" -}}
{{- if .Values.wake.tokenSecret.name -}}{{ .Values.wake.tokenSecret.name }}
{{- else if .Values.wake.tokenSecret.create -}}{{ printf "%s-wake-token" (include "rr.fullname" .) }}
{{- end -}}
{{- end -}}

{{/* "true" when the chart renders a ServiceMonitor: `auto` follows the cluster's APIs. */}}
{{- define "rr.serviceMonitorEnabled" -}}
{{- $v := toString .Values.serviceMonitor.enabled -}}
{{- if or (eq $v "true") (and (eq $v "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the pods carry prometheus.io scrape annotations: `auto` when no ServiceMonitor. */}}
{{- define "rr.scrapeAnnotationsEnabled" -}}
{{- $v := toString .Values.scrapeAnnotations.enabled -}}
{{- if or (eq $v "true") (and (eq $v "auto") (not (include "rr.serviceMonitorEnabled" .))) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the chart renders its PrometheusRule: `auto` follows the cluster's APIs. */}}
{{- define "rr.prometheusRuleEnabled" -}}
{{- $v := toString .Values.prometheusRule.enabled -}}
{{- if or (eq $v "true") (and (eq $v "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule")) -}}true{{- end -}}
{{- end -}}

{{/*
The variant name the service derives from a model id (Sources/ModelConfig/Resolution.swift,
derivedVariantName): the last non-empty path segment (the whole id when there is none), lower-cased,
every character outside [a-z0-9-] replaced by '-', leading and trailing '-' trimmed, "model" when
nothing is left. Ids outside printable ASCII are refused by the caller (graphemes and runes differ).
*/}}
{{- define "rr.derivedVariantName" -}}
{{- $segments := compact (splitList "/" .) -}}
{{- $last := . -}}
{{- if $segments }}{{ $last = last $segments }}{{ end -}}
{{- regexReplaceAll "[^a-z0-9-]" (lower $last) "-" | trimAll "-" | default "model" -}}
{{- end -}}

{{/* A PromQL double-quoted string literal's content: backslashes and quotes escaped. */}}
{{- define "rr.promString" -}}
{{- . | replace "\\" "\\\\" | replace "\"" "\\\"" -}}
{{- end -}}

{{/*
The targets, resolved: one dict per entry of autoscaling.targets with its autoscaler (keda, hpa or
none), its variant name (as the service resolves it: the model's scoped override, its
namespace-free override, `default`, then derived from the model id), and the names the gateway
may report it under (model id and aliases). Fails on ambiguous or incomplete targets.
*/}}
{{- define "rr.resolvedTargets" -}}
{{- $root := . -}}
{{- $keda := .Values.autoscaling.keda.enabled -}}
{{- $hpa := .Values.autoscaling.hpa.enabled -}}
{{- $seen := dict -}}
{{- $out := list -}}
{{- range $i, $t := .Values.autoscaling.targets -}}
  {{- $where := printf "autoscaling.targets[%d] (%s/%s)" $i $t.namespace $t.name -}}
  {{- $key := printf "%s/%s/%s" ($t.kind | default "Deployment") $t.namespace $t.name -}}
  {{- if hasKey $seen $key -}}
    {{- fail (printf "%s: a second target for the same workload; one autoscaler per workload" $where) -}}
  {{- end -}}
  {{- $_ := set $seen $key true -}}
  {{- $autoscaler := $t.autoscaler | default "" -}}
  {{- if not $autoscaler -}}
    {{- if and $keda $hpa -}}
      {{- fail (printf "%s: autoscaling.keda.enabled and autoscaling.hpa.enabled are both true, and two autoscalers for one workload fight (KEDA's admission webhook rejects the second: \"already managed by the hpa\"). Set `autoscaler: keda` or `autoscaler: hpa` on the target, or enable only one." $where) -}}
    {{- else if $keda -}}{{- $autoscaler = "keda" -}}
    {{- else if $hpa -}}{{- $autoscaler = "hpa" -}}
    {{- else -}}{{- $autoscaler = "none" -}}
    {{- end -}}
  {{- end -}}
  {{- $variant := $t.variantName | default "" -}}
  {{- $names := list -}}
  {{- $aliases := $t.aliases | default list -}}
  {{- if $t.model -}}
    {{- $names = append $names $t.model -}}
    {{- $scoped := dict -}}
    {{- $unscoped := dict -}}
    {{- if not $root.Values.modelConfig.existingConfigMap -}}
      {{- range $k, $entry := $root.Values.modelConfig.overrides -}}
        {{- if eq (toString $entry.model_id) (toString $t.model) -}}
          {{- if eq (toString ($entry.namespace | default "")) (toString $t.namespace) -}}{{- $scoped = $entry -}}
          {{- else if not $entry.namespace -}}{{- $unscoped = $entry -}}
          {{- end -}}
        {{- end -}}
      {{- end -}}
    {{- end -}}
    {{- if not $variant -}}
      {{- $defaults := $root.Values.modelConfig.default | default dict -}}
      {{- if $root.Values.modelConfig.existingConfigMap -}}{{- $defaults = dict -}}{{- end -}}
      {{- $variant = $scoped.variant_name | default $unscoped.variant_name | default $defaults.variant_name | default "" -}}
      {{- if not $variant -}}
        {{- if not (regexMatch "^[ -~]+$" $t.model) -}}
          {{- fail (printf "%s: model %q has characters outside printable ASCII, where the chart cannot derive the variant name exactly as the service does; set variantName to the model's variant_name" $where $t.model) -}}
        {{- end -}}
        {{- $variant = include "rr.derivedVariantName" $t.model -}}
      {{- end -}}
    {{- end -}}
    {{- $aliases = concat $aliases ($scoped.aliases | default list) ($unscoped.aliases | default list) -}}
  {{- else if not $variant -}}
    {{- fail (printf "%s: set `model` (the model id; its variant name is derived as the service derives it) or `variantName` (the model's variant_name label)" $where) -}}
  {{- end -}}
  {{- $names = concat $names $aliases | uniq -}}
  {{- $out = append $out (dict "name" $t.name "namespace" $t.namespace "kind" ($t.kind | default "Deployment") "maxReplicas" ($t.maxReplicas | default 10) "autoscaler" $autoscaler "variant" (toString $variant) "names" $names "model" (toString ($t.model | default ""))) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The recommendation as KEDA reads it: one series whatever the number of recommender replicas. */}}
{{- define "rr.desiredQuery" -}}
max(inferno_desired_replicas{variantautoscaling_name="{{ include "rr.promString" .variant }}",variantautoscaling_namespace="{{ include "rr.promString" .namespace }}"})
{{- end -}}

{{/*
Gateway demand for one target, for activation: requests queued in the endpoint picker's flow
control plus the increase of its request counters, under the model id or an alias. Always one
series (`or vector(0)` on each side): 0 is no demand, an error is a Prometheus that did not answer.
Arguments: dict "target" "root".
*/}}
{{- define "rr.demandQuery" -}}
{{- $d := .root.Values.autoscaling.keda.demand -}}
{{- $alternatives := list -}}
{{- range .target.names }}{{ $alternatives = append $alternatives (regexQuoteMeta (toString .)) }}{{ end -}}
{{- $matchers := list (printf "%s=~\"%s\"" $d.modelLabel (include "rr.promString" (join "|" $alternatives))) -}}
{{- if $d.namespaceLabel }}{{ $matchers = append $matchers (printf "%s=\"%s\"" $d.namespaceLabel (include "rr.promString" .target.namespace)) }}{{ end -}}
{{- with .root.Values.prometheus.gatewaySelector }}{{ $matchers = append $matchers . }}{{ end -}}
{{- $selector := join "," $matchers -}}
{{- $parts := list -}}
{{- with $d.queueMetrics }}{{ $parts = append $parts (printf "(sum({__name__=~\"%s\",%s}) or vector(0))" (join "|" .) $selector) }}{{ end -}}
{{- with $d.requestCounters }}{{ $parts = append $parts (printf "(sum(increase({__name__=~\"%s\",error_code!~\"BadRequest|BadConfiguration|ModelServerError\",%s}[%s])) or vector(0))" (join "|" .) $selector $d.window) }}{{ end -}}
{{- join " + " $parts -}}
{{- end -}}

{{/* The prometheus-adapter query an HPA for this target runs (namespace matched on variantautoscaling_namespace). */}}
{{- define "rr.adapterQuery" -}}
max by (variantautoscaling_namespace, variantautoscaling_name) (inferno_desired_replicas{variantautoscaling_name="{{ include "rr.promString" .variant }}",variantautoscaling_namespace="{{ include "rr.promString" .namespace }}"})
{{- end -}}

{{/* The HPA tolerance to render, or "" to leave the cluster's default. */}}
{{- define "rr.tolerance" -}}
{{- $v := toString .Values.autoscaling.tolerance -}}
{{- if eq $v "auto" -}}
{{- if semverCompare ">=1.33-0" .Capabilities.KubeVersion.Version -}}0{{- end -}}
{{- else -}}{{ $v }}{{- end -}}
{{- end -}}

{{/* HPA minReplicas: `auto` is 0 where HPAScaleToZero is on by default (Kubernetes >= 1.37), else 1. */}}
{{- define "rr.hpaMinReplicas" -}}
{{- $v := toString .Values.autoscaling.hpa.minReplicas -}}
{{- if eq $v "auto" -}}
{{- if semverCompare ">=1.37-0" .Capabilities.KubeVersion.Version -}}0{{- else -}}1{{- end -}}
{{- else -}}{{ $v }}{{- end -}}
{{- end -}}

{{/* HPA behavior shared by the generated HPAs and KEDA's: up at once, down after the recommender's window. */}}
{{- define "rr.hpaBehavior" -}}
{{- $tolerance := include "rr.tolerance" . -}}
scaleUp:
  stabilizationWindowSeconds: 0
  policies:
    - {type: Percent, value: 100, periodSeconds: 15}
    - {type: Pods, value: 4, periodSeconds: 15}
  selectPolicy: Max
  {{- if $tolerance }}
  tolerance: {{ $tolerance | quote }}
  {{- end }}
scaleDown:
  stabilizationWindowSeconds: {{ .Values.scaleDownStabilizationSeconds }}
  {{- if $tolerance }}
  tolerance: {{ $tolerance | quote }}
  {{- end }}
{{- end -}}

{{/* Prometheus headers as `Name: value` lines (the REPLICA_RECOMMENDER_PROMETHEUS_HEADER format). */}}
{{- define "rr.headerLines" -}}
{{- range $name, $value := . }}{{ printf "%s: %s\n" $name $value }}{{ end -}}
{{- end -}}

{{/* Prometheus headers in KEDA's customHeaders format: Name=value,Name=value. */}}
{{- define "rr.kedaHeaders" -}}
{{- $pairs := list }}{{ range $name, $value := . }}{{ $pairs = append $pairs (printf "%s=%s" $name $value) }}{{ end }}{{ join "," $pairs }}
{{- end -}}

{{/* The TriggerAuthentication the triggers reference: dict with name and kind, or empty. */}}
{{- define "rr.triggerAuthentication" -}}
{{- $ta := .Values.autoscaling.keda.triggerAuthentication -}}
{{- if $ta.name -}}
{{- toJson (dict "name" $ta.name "kind" ($ta.kind | default "TriggerAuthentication")) -}}
{{- else if .Values.prometheus.bearerToken.secretName -}}
{{- toJson (dict "name" (printf "%s-prometheus" (include "rr.fullname" .)) "kind" "TriggerAuthentication" "generated" true) -}}
{{- else if .Values.prometheus.ca.configMapName -}}
{{- fail "prometheus.ca is set without prometheus.bearerToken: KEDA's prometheus trigger applies a CA only together with an auth mode (pkg/scalers/prometheus_scaler.go), so the generated triggers could not verify Prometheus. Set prometheus.bearerToken, or name your own autoscaling.keda.triggerAuthentication." -}}
{{- end -}}
{{- end -}}

{{/* Matchers scoping the recommender's own metrics to this installation. */}}
{{- define "rr.recommenderSelector" -}}
{{- .Values.prometheusRule.recommenderSelector | default (printf "namespace=\"%s\"" .Release.Namespace) -}}
{{- end -}}

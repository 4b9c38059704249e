{{/*
The alert rules (a Prometheus rule file's content). config/prometheus/alerts.rules.yaml is this
rendered with the chart's defaults (scripts/render-alerts) and is what the promtool tests run.

Model series are joined on variantautoscaling_namespace, which no scrape setting rewrites: a
Prometheus with overrideHonorLabels moves `namespace` to `exported_namespace`. The recommender's
other per-model metrics carry only `namespace`; "rr.modelNamespace" takes exported_namespace when
present, else namespace.
*/}}
{{- define "rr.modelNamespace" -}}
label_replace(label_replace({{ . }}, "variantautoscaling_namespace", "$1", "namespace", "(.*)"), "variantautoscaling_namespace", "$1", "exported_namespace", "(.+)")
{{- end -}}

{{/*
Models recommended 0 that have a gateway signal: the signal's own namespace label when the scrape
adds one (the endpoint picker's namespace), else every namespace of that model name. The signal
is a printf format with one %s for an extra matcher. Arguments: dict "signal" "gateway".
*/}}
{{- define "rr.atZeroWith" -}}
{{- $extra := ternary "" (printf ",%s" .gateway) (eq .gateway "") -}}
(
  (max by (variantautoscaling_namespace, model_name) (inferno_desired_replicas) == 0)
  and on (variantautoscaling_namespace, model_name)
  label_replace(max by (namespace, model_name) (label_replace({{ printf .signal (printf "namespace!=\"\"%s" $extra) }}, "model_name", "$1", "target_model_name", "(.+)")), "variantautoscaling_namespace", "$1", "namespace", "(.+)")
)
or
(
  (max by (variantautoscaling_namespace, model_name) (inferno_desired_replicas) == 0)
  and on (model_name)
  max by (model_name) (label_replace({{ printf .signal (printf "namespace=\"\"%s" $extra) }}, "model_name", "$1", "target_model_name", "(.+)"))
)
{{- end -}}

{{- define "rr.alertRules" -}}
{{- $a := .Values.prometheusRule.alerts -}}
{{- $sel := include "rr.recommenderSelector" . -}}
{{- $gateway := .Values.prometheus.gatewaySelector | default "" -}}
groups:
  - name: replica-recommender
    rules:
      - alert: ReplicaRecommenderModelStuckWaking
        # Recommended >= 1 but no vLLM pod reports (GPU pending, image pull, crash loop): users
        # wait. A warning after a threshold above normal cold starts (large models take 10-15 min).
        expr: |
          max by (variantautoscaling_namespace, model_name) (inferno_desired_replicas) >= 1
          unless on (variantautoscaling_namespace, model_name)
          label_replace(count by (namespace, model_name) (vllm:num_requests_running), "variantautoscaling_namespace", "$1", "namespace", "(.*)")
        for: {{ $a.stuckWaking.for }}
        labels: {severity: {{ $a.stuckWaking.severity }}}
        annotations:
          summary: {{ "{{ $labels.model_name }} in {{ $labels.variantautoscaling_namespace }} is recommended replicas but none is ready" | quote }}
          description: {{ printf "The model has been recommended >= 1 replica for %s without a single vLLM pod reporting. Check for Pending pods (no free GPU), image pulls and crash loops." $a.stuckWaking.for | quote }}
      - alert: ReplicaRecommenderDemandWhileZero
        # Requests queue or arrive at the gateway while the recommendation is 0: the model is not
        # coming back. Per namespace where the gateway's series carry one.
        expr: |
          {{- include "rr.atZeroWith" (dict "signal" "(llm_d_epp_flow_control_queue_size{%[1]s} > 0 or inference_extension_flow_control_queue_size{%[1]s} > 0 or increase(inference_objective_request_total{%[1]s}[2m]) > 0 or increase(inference_model_request_total{%[1]s}[2m]) > 0)" "gateway" $gateway) | nindent 10 }}
        for: {{ $a.demandWhileZero.for }}
        labels: {severity: {{ $a.demandWhileZero.severity }}}
        annotations:
          summary: {{ "Requests for {{ $labels.model_name }} in {{ $labels.variantautoscaling_namespace }} are waiting while it is recommended 0 replicas" | quote }}
          description: {{ printf "Gateway demand has not woken the model for %s. Check the recommender's logs and /api/v1/recommendations, and that the gateway's metrics are scraped." $a.demandWhileZero.for | quote }}
      - alert: ReplicaRecommenderRequestsRejectedWhileZero
        # The gateway rejects requests for a model recommended 0 (no flow control: nothing queues).
        expr: |
          {{- include "rr.atZeroWith" (dict "signal" "(increase(inference_objective_request_error_total{%[1]s}[5m]) > 0 or increase(inference_model_request_error_total{%[1]s}[5m]) > 0)" "gateway" $gateway) | nindent 10 }}
        for: {{ $a.rejectedWhileZero.for }}
        labels: {severity: {{ $a.rejectedWhileZero.severity }}}
        annotations:
          summary: {{ "The gateway rejects requests for {{ $labels.model_name }} in {{ $labels.variantautoscaling_namespace }} while it is recommended 0 replicas" | quote }}
          description: {{ printf "inference_objective_request_error_total has risen for %s while the model is at zero: callers get errors and the model does not come back. Check the recommender's wake path for the model (explain, /api/v1/recommendations)." $a.rejectedWhileZero.for | quote }}
      - alert: ReplicaRecommenderWakePathGone
        # A model at zero whose only wake path is the gateway, and the gateway's request-counter
        # and queue series for it have not been seen for a long time: demand may no longer reach
        # the recommender. (Also after an endpoint picker restart until the model's first request.)
        expr: |
          (max by (variantautoscaling_namespace, model_name) (inferno_desired_replicas) == 0)
          and on (variantautoscaling_namespace, model_name)
          max by (variantautoscaling_namespace, model_name) ({{ include "rr.modelNamespace" "recommender_model_wake_path{path=\"gateway\"} == 1" }})
          and on (variantautoscaling_namespace, model_name)
          max by (variantautoscaling_namespace, model_name) ({{ include "rr.modelNamespace" (printf "time() - recommender_model_gateway_last_seen_timestamp_seconds > %d" (int $a.wakePathGone.afterSeconds)) }})
        labels: {severity: {{ $a.wakePathGone.severity }}}
        annotations:
          summary: {{ "{{ $labels.model_name }} in {{ $labels.variantautoscaling_namespace }} is at zero and the gateway has not reported it for a long time" | quote }}
          description: {{ printf "The gateway's request counter and queue series for the model have been absent for more than %ds: requests may not reach it, and nothing would wake it. Check the route to the model and that the endpoint picker's metrics are scraped, or declare wake_path: api for callers that use the wake API." (int $a.wakePathGone.afterSeconds) | quote }}
      - alert: ReplicaRecommenderDown
        expr: absent(recommender_last_tick_success_timestamp_seconds{ {{- $sel -}} })
        for: {{ $a.down.for }}
        labels: {severity: {{ $a.down.severity }}}
        annotations:
          summary: "replica-recommender is down or not scraped"
          description: {{ printf "No recommender metrics (%s) for %s. KEDA holds current replicas (no fallback) and still wakes models on gateway demand; HPAs hold their last scale." $sel $a.down.for | quote }}
      - alert: ReplicaRecommenderNotDeciding
        # Per replica: one frozen replica next to a healthy one still alerts.
        expr: time() - recommender_last_tick_success_timestamp_seconds{ {{- $sel -}} } > {{ int $a.notDeciding.afterSeconds }}
        for: {{ $a.notDeciding.for }}
        labels: {severity: {{ $a.notDeciding.severity }}}
        annotations:
          summary: {{ printf "A replica-recommender replica ({{ $labels.instance }}) has not completed a tick for %ds" (int $a.notDeciding.afterSeconds) | quote }}
          description: "The replica is scraped but does not decide (no configuration loaded, Prometheus unreachable at start, or stuck). Consumers take the max over replicas: a frozen replica can hold models up."
      - alert: ReplicaRecommenderPrometheusQueryErrors
        expr: sum by (signal) (rate(recommender_prometheus_query_errors_total{ {{- $sel -}} }[5m])) > 0
        for: {{ $a.queryErrors.for }}
        labels: {severity: {{ $a.queryErrors.severity }}}
        annotations:
          summary: {{ "replica-recommender queries for {{ $labels.signal }} are failing" | quote }}
          description: "While a signal is unknown, models hold their last recommendation: nothing scales to zero and idle models are not released."
      - alert: ReplicaRecommenderConfigInvalid
        expr: max(recommender_config_errors{ {{- $sel -}} }) > 0
        for: {{ $a.configInvalid.for }}
        labels: {severity: {{ $a.configInvalid.severity }}}
        annotations:
          summary: {{ "The model ConfigMap has {{ $value }} error(s); last good versions are in force" | quote }}
          description: "Run `replica-recommender check-config` on the ConfigMap, or read /readyz, for the file, key, field and line."
      - alert: ReplicaRecommenderKillSwitchOn
        expr: max(recommender_kill_switch{ {{- $sel -}} }) == 1
        labels: {severity: {{ $a.killSwitch.severity }}}
        annotations:
          summary: "Scale-to-zero is switched off for every model (kill switch)"
          description: "global.scale_to_zero_allowed is false (or the global entry is invalid, or --scale-to-zero-allowed=false): every model is kept at >= 1."
      {{- range $t := include "rr.resolvedTargets" . | fromJsonArray }}
      {{- if ne $t.autoscaler "none" }}
      - alert: ReplicaRecommenderTargetSeriesAbsent
        # The series the generated {{ ternary "ScaledObject" "HPA" (eq $t.autoscaler "keda") }} for {{ $t.namespace }}/{{ $t.name }} selects does not exist:
        # a variant-name mismatch or a model the recommender does not know. The target is never scaled.
        expr: absent(inferno_desired_replicas{variantautoscaling_name="{{ include "rr.promString" $t.variant }}",variantautoscaling_namespace="{{ include "rr.promString" $t.namespace }}"})
        for: {{ $a.targetSeriesAbsent.for }}
        labels:
          severity: {{ $a.targetSeriesAbsent.severity }}
          target: {{ $t.name | quote }}
          target_kind: {{ $t.kind | quote }}
          autoscaler: {{ $t.autoscaler | quote }}
        annotations:
          summary: {{ printf "No recommendation for %s %s/%s (variant %s)" $t.kind $t.namespace $t.name $t.variant | quote }}
          description: {{ printf "inferno_desired_replicas{variantautoscaling_name=%q,variantautoscaling_namespace=%q} has been absent for %s: the %s never scales the workload. Check that the model's variant_name (or the id it is derived from) matches the target, and `replica-recommender explain --consumer %s`." $t.variant $t.namespace $a.targetSeriesAbsent.for (ternary "ScaledObject" "HPA" (eq $t.autoscaler "keda")) $t.autoscaler | quote }}
      {{- end }}
      {{- end }}
{{- end -}}

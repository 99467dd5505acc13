{{- define "dti-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dti-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "dti-operator.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "dti-operator.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dti-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dti-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dti-operator.labels" -}}
{{ include "dti-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dti-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dti-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* What the operator needs, in a Role or a ClusterRole: read its integrations and their Secrets, write
status, own OktaApps and OktaSyncStates, record events. */}}
{{- define "dti-operator.rules" -}}
- apiGroups: [dti.dev]
  resources: [oktaintegrations]
  verbs: [get, list, watch, patch]
- apiGroups: [dti.dev]
  resources: [oktaintegrations/status]
  verbs: [get, patch]
- apiGroups: [dti.dev]
  # ownerReferences with blockOwnerDeletion need this where OwnerReferencesPermissionEnforcement is on.
  resources: [oktaintegrations/finalizers]
  verbs: [update]
- apiGroups: [dti.dev]
  resources: [oktaapps, oktasyncstates]
  verbs: [create, patch, delete, list, watch]
- apiGroups: [dti.dev]
  resources: [oktaapps/status, appcontracts/status]
  verbs: [patch]
- apiGroups: [dti.dev]
  resources: [appcontracts]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
{{- if .Values.rbac.userListSecrets }}
# spec.reclaim.userList: the operator writes the per-user list into a Secret the integration owns (and
# never over one it does not own).
- apiGroups: [""]
  resources: [secrets]
  verbs: [create, patch, delete]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* The shard group: the Lease prefix and checkpoint key every replica of the group shares. */}}
{{- define "dti-operator.group" -}}
{{- .Values.sharding.group | default (include "dti-operator.fullname" .) -}}
{{- end -}}

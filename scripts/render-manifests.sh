#!/usr/bin/env bash
# Renders the chart with its default values into deploy/dti-operator.yaml, for `kubectl apply` users.
# A test fails when the committed file differs from what this prints.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=$(scripts/control-plane.sh bin helm)
{
  echo "# Rendered from charts/dti-operator with default values by scripts/render-manifests.sh; do not edit."
  echo "# kubectl create namespace dti-system && kubectl apply --server-side -f deploy/dti-operator.yaml"
  "$HELM" template dti-operator charts/dti-operator --namespace dti-system
} > "${1:-deploy/dti-operator.yaml}"

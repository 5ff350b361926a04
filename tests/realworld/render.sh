#!/bin/sh
# Renders the judged sample from the public repositories cloned under $REPOS (see NOTICE.md for the
# commits), offline: helm template with the chart's default values (and the ci values named), kubectl
# kustomize for Kustomize roots. Every unit lands in a directory of its own, scanned on its own.
set -eu
REPOS=${REPOS:?set REPOS to the directory holding the cloned repositories}
OUT=${1:-$(dirname "$0")}
PC=$REPOS/prometheus-community+helm-charts/charts
NGINX=$REPOS/kubernetes+ingress-nginx/charts/ingress-nginx
DEMO=$REPOS/GoogleCloudPlatform+microservices-demo
EXAMPLES=$REPOS/kubernetes-sigs+kustomize/examples

chart() {  # chart() UNIT CHART-DIRECTORY [helm arguments...]
    unit=$1 directory=$2
    shift 2
    mkdir -p "$OUT/$unit"
    helm template "$(basename "$directory")" "$directory" "$@" > "$OUT/$unit/manifests.yaml"
}

kustomization() {  # kustomization() UNIT ROOT
    mkdir -p "$OUT/$1"
    kubectl kustomize "$2" > "$OUT/$1/manifests.yaml" 2>/dev/null
}

for name in kube-state-metrics prometheus-pushgateway prometheus-node-exporter alertmanager \
    prometheus-blackbox-exporter prometheus-mysql-exporter prometheus-redis-exporter \
    prometheus-statsd-exporter prometheus-memcached-exporter; do
    chart "$name" "$PC/$name"
done
chart prometheus-pushgateway-persistence "$PC/prometheus-pushgateway" -f "$PC/prometheus-pushgateway/ci/persistence-values.yaml"

# The prometheus chart declares its siblings as dependencies: vendor them from the same commit, then
# render the server alone (the siblings are units of their own above).
vendored=$(mktemp -d)
cp -r "$PC/prometheus" "$vendored/prometheus"
mkdir "$vendored/prometheus/charts"
for name in alertmanager kube-state-metrics prometheus-node-exporter prometheus-pushgateway; do
    cp -r "$PC/$name" "$vendored/prometheus/charts/"
done
alone="alertmanager.enabled=false,kube-state-metrics.enabled=false,prometheus-node-exporter.enabled=false,prometheus-pushgateway.enabled=false"
chart prometheus "$vendored/prometheus" --set "$alone"
chart prometheus-sts "$vendored/prometheus" --set "$alone" -f "$PC/prometheus/ci/06-server-sts-values.yaml"
rm -r "$vendored"

chart ingress-nginx "$NGINX"
for variant in controller-daemonset-metrics controller-hpa controller-deployment-podannotations; do
    chart "ingress-nginx-$variant" "$NGINX" -f "$NGINX/ci/$variant-values.yaml"
done

kustomization microservices-demo-kustomize "$DEMO/kustomize"
# kubernetes-manifests holds the tagless images that the repository's skaffold.yaml builds and replaces
kustomization microservices-demo-skaffold "$DEMO/kubernetes-manifests"
cp "$DEMO/skaffold.yaml" "$OUT/microservices-demo-skaffold/skaffold.yaml"

kustomization kustomize-helloworld "$EXAMPLES/helloWorld"
kustomization kustomize-wordpress "$EXAMPLES/wordpress"

// Command kube-controller-manager is the upstream controller manager (garbage collector, namespace
// deletion, Deployments and ReplicaSets for the node tests), built from the module pinned in go.mod.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}

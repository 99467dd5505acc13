// gitops-health reads Kubernetes objects (a JSON array on stdin) and prints, for each, the health that
// Flux (kstatus from sigs.k8s.io/cli-utils) and Argo CD (a health Lua script run by gopher-lua, the
// interpreter Argo CD embeds) would give it. Usage: gitops-health HEALTH.lua < objects.json
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kstatus        string `json:"kstatus"`
	KstatusMessage string `json:"kstatusMessage"`
	Argo           string `json:"argo"`
	ArgoMessage    string `json:"argoMessage"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gitops-health HEALTH.lua < objects.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	check(err)
	input, err := io.ReadAll(os.Stdin)
	check(err)
	// apimachinery's decoder keeps whole numbers int64, as objects from the API server have them.
	var objects []map[string]interface{}
	check(utiljson.Unmarshal(input, &objects))
	out := make([]verdict, 0, len(objects))
	for _, obj := range objects {
		result, err := status.Compute(&unstructured.Unstructured{Object: obj})
		check(err)
		argo, message, err := argoHealth(string(script), obj)
		check(err)
		out = append(out, verdict{string(result.Status), result.Message, argo, message})
	}
	check(json.NewEncoder(os.Stdout).Encode(out))
}

// argoHealth runs the script as Argo CD does: a fresh state with the safe base libraries, the object as
// the global `obj`, and the returned table's status and message.
func argoHealth(script string, obj map[string]interface{}) (string, string, error) {
	state := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer state.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		state.Push(state.NewFunction(lib.open))
		state.Push(lua.LString(lib.name))
		state.Call(1, 0)
	}
	state.SetGlobal("obj", toLua(state, obj))
	if err := state.DoString(script); err != nil {
		return "", "", err
	}
	table, ok := state.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", state.Get(-1).Type())
	}
	return table.RawGetString("status").String(), table.RawGetString("message").String(), nil
}

// toLua converts decoded JSON into Lua values: objects and arrays become tables (arrays 1-based).
func toLua(state *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case map[string]interface{}:
		table := state.NewTable()
		for key, item := range v {
			table.RawSetString(key, toLua(state, item))
		}
		return table
	case []interface{}:
		table := state.NewTable()
		for _, item := range v {
			table.Append(toLua(state, item))
		}
		return table
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitops-health:", err)
		os.Exit(1)
	}
}

package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// kindFlags collects the repeated --official-account, --website and --mobile-app values of
// `wxlogin sim`: apps of those kinds, appid:secret[:platform] like --app.
type kindFlags struct {
	officialAccounts, websites, mobileApps appFlags
}

func (k *kindFlags) register(fs *flag.FlagSet) {
	fs.Var(&k.officialAccounts, "official-account", "an official account, appid:secret[:platform] (repeatable)")
	fs.Var(&k.websites, "website", "a website app (QR login), appid:secret[:platform] (repeatable)")
	fs.Var(&k.mobileApps, "mobile-app", "a mobile app (WeChat SDK login), appid:secret[:platform] (repeatable)")
}

// newSimWithKinds returns a simulator with the mini programs of apps (or the demo app) and the apps
// of the other kinds. Errors name the flag and the appid, never the secret.
func newSimWithKinds(apps []string, k kindFlags) (*wechatsim.Sim, []wechatsim.App, error) {
	if len(apps) == 0 {
		apps = []string{demoApp}
	}
	var list []wechatsim.App
	for _, group := range []struct {
		flag  string
		kind  wxlogin.AppKind
		items []string
	}{
		{"app", wxlogin.KindMiniProgram, apps},
		{"official-account", wxlogin.KindOfficialAccount, k.officialAccounts},
		{"website", wxlogin.KindWebsite, k.websites},
		{"mobile-app", wxlogin.KindMobileApp, k.mobileApps},
	} {
		for _, s := range group.items {
			a, err := wechatsim.ParseAppKind(group.kind, s)
			if err != nil {
				appid, _, _ := strings.Cut(s, ":")
				return nil, nil, fmt.Errorf("--%s %q: want appid:secret[:platform]", group.flag, appid)
			}
			if group.kind == wxlogin.KindMiniProgram {
				a.Kind = "" // the simulator's default kind, as newSim leaves it
			}
			list = append(list, a)
		}
	}
	sim := wechatsim.New(wechatsim.Options{Apps: list})
	if got := len(sim.Apps()); got != len(list) {
		return nil, nil, fmt.Errorf("duplicate appid among --app, --official-account, --website and --mobile-app")
	}
	return sim, list, nil
}

// kindName returns how `wxlogin sim` names an app's kind on its start-up lines.
func kindName(a wechatsim.App) string {
	if a.Kind == "" {
		return string(wxlogin.KindMiniProgram)
	}
	return string(a.Kind)
}

package wxlogin

// AppKind is the kind of a WeChat app: which WeChat surface its users arrive through.
type AppKind string

// The WeChat app kinds.
const (
	KindMiniProgram     AppKind = "miniprogram"      // wx.login → code2Session
	KindOfficialAccount AppKind = "official_account" // H5 web OAuth (snsapi_base, snsapi_userinfo)
	KindWebsite         AppKind = "website"          // open-platform QR login (snsapi_login)
	KindMobileApp       AppKind = "mobile_app"       // the WeChat SDK's SendAuth code
)

// Valid reports whether k is one of the four kinds.
func (k AppKind) Valid() bool {
	switch k {
	case KindMiniProgram, KindOfficialAccount, KindWebsite, KindMobileApp:
		return true
	}
	return false
}

// AppKind returns the app's kind: Kind, or KindMiniProgram when it is unset.
func (a App) AppKind() AppKind {
	if a.Kind == "" {
		return KindMiniProgram
	}
	return a.Kind
}

// WebOAuth reports whether apps of kind k log in with WeChat's web OAuth (/sns/oauth2/access_token):
// official accounts, websites and mobile apps.
func (k AppKind) WebOAuth() bool {
	return k == KindOfficialAccount || k == KindWebsite || k == KindMobileApp
}

// AppKind returns the kind of the identity's app: Kind, or KindMiniProgram when it is unset (the
// identities of before app kinds).
func (i Identity) AppKind() AppKind {
	if i.Kind == "" {
		return KindMiniProgram
	}
	return i.Kind
}

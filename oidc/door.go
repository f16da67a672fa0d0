package oidc

import (
	"net/http"
	"net/url"
	"regexp"
)

// DoneFunc is what a door served by the provider (Door.Serve) calls when it has its user: it
// records that userID authenticated (with the RFC 8176 amr values, e.g. "wechat") for the auth
// request authRequestID in this browser, and answers the browser (the consent step, or back to
// the client with a code). It is Provider.CompleteLogin.
type DoneFunc func(w http.ResponseWriter, r *http.Request, authRequestID, userID string, amr []string)

// url returns where the login page sends the browser to take d for the auth request id.
func (d Door) url(id string) string {
	if d.URL != nil {
		return d.URL(id)
	}
	return PathDoor + d.Name + "/start?" + url.Values{"id": {id}}.Encode()
}

var doorStep = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// handleDoor serves GET and POST /oidc/door/{door}/{step} through the door's Serve. Unknown doors
// and steps of a malformed name are a 404 page; "start" must name an auth request still pending.
func (p *Provider) handleDoor(w http.ResponseWriter, r *http.Request) {
	d, ok := p.doors[r.PathValue("door")]
	step := r.PathValue("step")
	if !ok || d.Serve == nil || !doorStep.MatchString(step) {
		p.errorPage(w, r, http.StatusNotFound, "unknown")
		return
	}
	if step == "start" {
		ar, c := p.pending(w, r, r.URL.Query().Get("id"))
		if ar == nil {
			return
		}
		if !c.OffersDoor(d.Name) {
			p.errorPage(w, r, http.StatusBadRequest, "nodoor")
			return
		}
	}
	d.Serve(w, r, step, p.CompleteLogin)
}

package http

import (
	"net/http"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

type bindWeChatRequest struct {
	AppID string `json:"appid"`
	Code  string `json:"code"`
}

func (r *bindWeChatRequest) Valid() error {
	if r.Code == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "code is required: the code from wx.login()")
	}
	return nil
}

func (s *server) handleBindWeChat() http.Handler {
	return profileHandler(s, func(r *http.Request, req *bindWeChatRequest) (*auth.Profile, error) {
		return s.svc.BindWeChat(r.Context(), principal(r), req.AppID, req.Code, s.meta(r))
	})
}

func (s *server) handleUnbindWeChat() http.Handler {
	return noContentHandler(s, func(r *http.Request) error {
		appid, err := pathParam(r, "appid")
		if err != nil {
			return err
		}
		return s.svc.UnbindWeChat(r.Context(), principal(r), appid, s.meta(r))
	})
}

type patchMeRequest struct {
	Nickname  *string `json:"nickname"`
	AvatarURL *string `json:"avatar_url"`
}

func (r *patchMeRequest) Valid() error {
	if r.Nickname == nil && r.AvatarURL == nil {
		return wxlogin.Errorf(wxlogin.EINVALID, "nothing to change: send nickname and/or avatar_url")
	}
	return nil
}

func (s *server) handlePatchMe() http.Handler {
	return profileHandler(s, func(r *http.Request, req *patchMeRequest) (*auth.Profile, error) {
		return s.svc.UpdateProfile(r.Context(), principal(r), auth.ProfileUpdate{Nickname: req.Nickname, AvatarURL: req.AvatarURL}, s.meta(r))
	})
}

type wechatProfileRequest struct {
	AppID         string `json:"appid"`
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
	RawData       string `json:"raw_data"`
	Signature     string `json:"signature"`
}

func (s *server) handleWeChatProfile() http.Handler {
	return profileHandler(s, func(r *http.Request, req *wechatProfileRequest) (*auth.Profile, error) {
		return s.svc.UpdateProfileFromWeChat(r.Context(), principal(r), auth.EncryptedData{AppID: req.AppID,
			EncryptedData: req.EncryptedData, IV: req.IV, RawData: req.RawData, Signature: req.Signature}, s.meta(r))
	})
}

type paidUnionIDRequest struct {
	AppID         string `json:"appid"`
	TransactionID string `json:"transaction_id"`
}

func (r *paidUnionIDRequest) Valid() error {
	if r.TransactionID == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "transaction_id is required")
	}
	return nil
}

func (s *server) handlePaidUnionID() http.Handler {
	return profileHandler(s, func(r *http.Request, req *paidUnionIDRequest) (*auth.Profile, error) {
		return s.svc.LinkPaidUnionID(r.Context(), principal(r), req.AppID, req.TransactionID, s.meta(r))
	})
}

// handleLoginCloud logs in the caller named by WeChat Cloud Run's gateway headers. The route
// exists always; the service refuses it unless Cloud Run mode is enabled.
func (s *server) handleLoginCloud() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := s.svc.LoginCloud(r.Context(), r.Header.Get("X-WX-APPID"), r.Header.Get("X-WX-OPENID"), r.Header.Get("X-WX-UNIONID"), s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeLogin(w, l, http.StatusOK)
	})
}

type phoneRequest struct {
	AppID         string `json:"appid"`
	Code          string `json:"code"`
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
}

func (s *server) handleSetPhone() http.Handler {
	return profileHandler(s, func(r *http.Request, req *phoneRequest) (*auth.Profile, error) {
		return s.svc.SetPhone(r.Context(), principal(r), auth.PhoneInput{AppID: req.AppID, Code: req.Code, EncryptedData: req.EncryptedData, IV: req.IV}, s.meta(r))
	})
}

type loginPhoneRequest struct {
	AppID     string `json:"appid"`
	Code      string `json:"code"`
	WxCode    string `json:"wx_code"`    // optional: a wx.login code whose identity is bound too
	LinkToken string `json:"link_token"` // optional: the link token of a no_account answer
}

func (r *loginPhoneRequest) Valid() error {
	if r.Code == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "code is required: the code of a getPhoneNumber button")
	}
	return nil
}

func (s *server) handleLoginPhone() http.Handler {
	return loginHandler(s, func(r *http.Request, req *loginPhoneRequest) (*auth.Login, error) {
		return s.svc.LoginPhoneWith(r.Context(), auth.PhoneLogin{AppID: req.AppID, Code: req.Code, WxCode: req.WxCode, LinkToken: req.LinkToken}, s.meta(r))
	})
}

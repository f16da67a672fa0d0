package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/wxlogin/wxlogin"
)

// WXACodeRequest is the body of getwxacodeunlimit. Scene: 1–32 characters of
// 0-9 A-Z a-z ! # $ & ' ( ) * + , / : ; = ? @ - . _ ~ (the mini program receives it URL-encoded in
// options.scene). Page: a published page such as "pages/index/index", no leading "/" and no query
// ("" = the home page). CheckPath: when false, WeChat accepts unpublished pages (trial and develop
// versions); nil leaves it out (WeChat's default: true). EnvVersion: "release" (default), "trial" or
// "develop". Width: 280–1280 pixels (0 = WeChat's default 430).
type WXACodeRequest struct {
	Scene      string
	Page       string
	CheckPath  *bool
	EnvVersion string
	Width      int
}

// GetWXACodeUnlimit draws a mini-program code (POST /wxa/getwxacodeunlimit) and returns the image
// and its content type (image/jpeg or image/png): WeChat answers an image on success and JSON on
// failure, so the Content-Type decides. A call rejected for its access token (40001, 42001) is sent
// once more with a fresh token, like the other token calls; nothing else is retried. Errors:
// *APIError 40169 (IsInvalidScene), 41030 (IsInvalidPage), 45009 (IsRateLimited), -1; token errors
// after one retry; *TransportError (also: a success without an image).
func (c *Client) GetWXACodeUnlimit(ctx context.Context, req WXACodeRequest) (image []byte, contentType string, err error) {
	body := map[string]any{"scene": req.Scene}
	if req.Page != "" {
		body["page"] = req.Page
	}
	if req.CheckPath != nil {
		body["check_path"] = *req.CheckPath
	}
	if req.EnvVersion != "" {
		body["env_version"] = req.EnvVersion
	}
	if req.Width != 0 {
		body["width"] = req.Width
	}
	var img imageBody
	var out struct{}
	err = c.withToken(ctx, func(token wxlogin.Secret) error {
		img = imageBody{}
		return c.do(ctx, call{
			api:       apiWXACodeUnlimit,
			method:    http.MethodPost,
			query:     url.Values{"access_token": {token.Reveal()}},
			body:      body,
			sensitive: []string{token.Reveal()},
			image:     &img,
		}, &out)
	})
	if err != nil {
		return nil, "", err
	}
	if len(img.data) == 0 {
		return nil, "", incomplete(apiWXACodeUnlimit, "the image")
	}
	return img.data, img.contentType, nil
}

// Risk scenes of getuserriskrank.
const (
	RiskSceneRegister  = 0
	RiskSceneMarketing = 1
)

// RiskRankRequest is the body of getuserriskrank. OpenID, Scene (RiskSceneRegister or
// RiskSceneMarketing) and ClientIP (the user's IP as the server saw it) are required; the others help
// WeChat and may be "".
type RiskRankRequest struct {
	OpenID       string
	Scene        int
	ClientIP     string
	MobileNo     string
	EmailAddress string
	ExtendedInfo string
	BankCardNo   string
	CertNo       string
}

// GetUserRiskRank returns WeChat's risk rank of the user (0 lowest … 4 highest) for a registration
// or marketing scene (POST /wxa/getuserriskrank; the app's appid is sent for it). It only reads: one
// retry after 100 ms on a transport error or -1, and one more try with a fresh token on 40001/42001.
// Errors: *APIError 40003 (IsInvalidOpenID), 40097 (bad scene or client_ip), 45011, -1; token errors
// after one retry; *TransportError.
func (c *Client) GetUserRiskRank(ctx context.Context, req RiskRankRequest) (rank int, err error) {
	body := map[string]any{"appid": c.appid, "openid": req.OpenID, "scene": req.Scene, "client_ip": req.ClientIP}
	for k, v := range map[string]string{"mobile_no": req.MobileNo, "email_address": req.EmailAddress,
		"extended_info": req.ExtendedInfo, "bank_card_no": req.BankCardNo, "cert_no": req.CertNo} {
		if v != "" {
			body[k] = v
		}
	}
	var out struct {
		RiskRank *int `json:"risk_rank"`
		UnoinID  any  `json:"unoin_id"` // WeChat's spelling: the request's id, unused
	}
	err = c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.doRead(ctx, call{
			api:       apiUserRiskRank,
			method:    http.MethodPost,
			query:     url.Values{"access_token": {token.Reveal()}},
			body:      body,
			sensitive: []string{token.Reveal(), req.MobileNo, req.EmailAddress, req.BankCardNo, req.CertNo},
		}, &out)
	})
	if err != nil {
		return 0, err
	}
	if out.RiskRank == nil {
		return 0, incomplete(apiUserRiskRank, "risk_rank")
	}
	return *out.RiskRank, nil
}

// CheckEncryptedData asks WeChat whether encryptedData (as the mini program received it, base64) is
// encrypted open data WeChat issued for this app within the last 3 days (POST
// /wxa/business/checkencryptedmsg with its hex SHA-256). It returns the answer and when the data was
// made (zero when not valid). It only reads: retried like GetUserRiskRank. Errors: *APIError 47001,
// -1; token errors after one retry; *TransportError.
func (c *Client) CheckEncryptedData(ctx context.Context, encryptedData string) (valid bool, createTime time.Time, err error) {
	sum := sha256.Sum256([]byte(encryptedData))
	var out struct {
		Vaild      bool  `json:"vaild"` // WeChat's spelling
		CreateTime int64 `json:"create_time"`
	}
	err = c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.doRead(ctx, call{
			api:       apiCheckEncrypted,
			method:    http.MethodPost,
			query:     url.Values{"access_token": {token.Reveal()}},
			body:      map[string]string{"encrypted_msg_hash": hex.EncodeToString(sum[:])},
			sensitive: []string{token.Reveal()},
		}, &out)
	})
	if err != nil || !out.Vaild {
		return false, time.Time{}, err
	}
	if out.CreateTime > 0 {
		createTime = time.Unix(out.CreateTime, 0)
	}
	return true, createTime, nil
}

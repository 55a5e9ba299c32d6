package neutron

import "encoding/json"

// neutronMessage is the message of a Neutron error body,
// {"NeutronError": {"type": …, "message": …, "detail": …}}, or "" when the
// body is not one.
func neutronMessage(body []byte) string {
	var b struct {
		NeutronError struct {
			Message string `json:"message"`
		} `json:"NeutronError"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	return b.NeutronError.Message
}

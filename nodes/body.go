package nodes

import "encoding/json"

// bodyMessage returns the "message" of an OpenStack error body: Nova wraps it
// in one key named after the fault ({"conflictingRequest": {...}}), Neutron in
// {"NeutronError": {...}}. Empty when the body has no such message.
func bodyMessage(body []byte) string {
	var wrapped map[string]json.RawMessage
	if json.Unmarshal(body, &wrapped) != nil {
		return ""
	}
	for _, raw := range wrapped {
		var inner struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &inner) == nil && inner.Message != "" {
			return inner.Message
		}
	}
	return ""
}

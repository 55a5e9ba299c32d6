package rpc

import (
	"bytes"
	"errors"
	"fmt"

	xdr "github.com/davecgh/go-xdr/xdr2"
)

// encode returns the XDR encoding of v (a pointer to a go-libvirt Args/Ret
// struct, or nil for an empty body).
func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(rawBody); ok {
		return raw, nil
	}
	var b bytes.Buffer
	if _, err := xdr.Marshal(&b, v); err != nil {
		return nil, fmt.Errorf("rpc: xdr encode %T: %w", v, err)
	}
	return b.Bytes(), nil
}

// decode fills v from body, which must be consumed exactly. Array and
// string lengths are bounded by the body size, so a forged length cannot
// make the decoder allocate more than the packet could hold, and by
// REMOTE_STRING_MAX, as libvirtd's decoder bounds them (a longer name or
// XML is refused, not looked up or parsed).
func decode(body []byte, v any) error {
	d := xdr.NewDecoderLimited(bytes.NewReader(body), uint(min(len(body), RemoteStringMax)))
	n, err := d.Decode(v)
	if err != nil {
		if overStringMax(err) {
			err = fmt.Errorf("%w: %w", errStringTooLong, err)
		}
		return fmt.Errorf("rpc: xdr decode %T: %w", v, err)
	}
	if n != len(body) {
		return fmt.Errorf("rpc: xdr decode %T: %d trailing bytes", v, len(body)-n)
	}
	return nil
}

// errStringTooLong marks a decode refused because a string, opaque or
// array in the call claims more than REMOTE_STRING_MAX (the metrics count
// it as that limit's refusal).
var errStringTooLong = errors.New("a length over REMOTE_STRING_MAX")

// overStringMax reports a decoder refusal of a length past the string
// limit (not merely past what the packet holds).
func overStringMax(err error) bool {
	var ue *xdr.UnmarshalError
	if !errors.As(err, &ue) || ue.ErrorCode != xdr.ErrOverflow {
		return false
	}
	n, ok := ue.Value.(uint32)
	return ok && n > RemoteStringMax
}

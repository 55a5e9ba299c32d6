package nodes

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"gopkg.in/yaml.v3"
)

// novaMicroversion pins the compute API shape we parse. 2.47 embeds the flavor
// (ram, vcpus) in the server so one list call gives everything a domain needs;
// 2.79 is the newest the issue requires cloudsim to understand and is old
// enough for every maintained cloud (Train, 2019).
const novaMicroversion = "2.79"

// CloudConfig says which cloud to use, the way the openstack CLI does: a
// clouds.yaml entry (--os-cloud, OS_CLOUD, OS_CLIENT_CONFIG_FILE and the
// standard search path), or else the OS_* variables.
type CloudConfig struct {
	Cloud      string // cloud name in clouds.yaml; "" = $OS_CLOUD, else OS_* variables
	CloudsYAML string // explicit clouds.yaml path (optional)
	// CloudsYAMLData, when set, is the clouds.yaml content itself (the
	// embedded demo cloud hands over its own).
	CloudsYAMLData []byte
	HTTPClient     *http.Client // nil = a dedicated client; either way every request gets RequestTimeout
	UserAgent      string
	// RequestTimeout bounds each request to the cloud, from sending it to
	// the end of its body, so that one the cloud never answers fails instead
	// of holding its caller forever. 0 = DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Observer is told of every request, refresh and action (metrics);
	// nil: nobody.
	Observer Observer
	// MaxRetries bounds the retries of one request (retryPolicy says which
	// failures are retried); 0 = DefaultMaxRetries, negative = none.
	MaxRetries int
	Logger     *slog.Logger // retries are logged here; nil = nowhere
}

// Cloud holds the authenticated service clients. Nova is required; the
// others are built when the catalog has them.
type Cloud struct {
	Compute *gophercloud.ServiceClient
	// Network is Neutron, or nil when the catalog has none. Only the
	// Provisioner (the ports of servers that define creates and undefine
	// deletes) and quintupleo check's network facts use it, and they refuse
	// without it, saying so (needNetwork): a node's ports are read from
	// Nova's `addresses`, so a cloud without Neutron still serves the rest.
	Network *gophercloud.ServiceClient
	Image   *gophercloud.ServiceClient
	// Block is Cinder (block-storage v3), or nil when the catalog has none:
	// then there are no storage pools (driver/storage says so on every
	// call) and disks never name volumes.
	Block *gophercloud.ServiceClient
	// ProjectID is the project the token is scoped to (Cinder's quota key).
	ProjectID string
	obs       Observer // CloudConfig.Observer (observer())
}

// Connect authenticates and builds the service clients. Re-authentication on
// token expiry is automatic (gophercloud's AllowReauth).
func Connect(ctx context.Context, cfg CloudConfig) (*Cloud, error) {
	authOpts, endpointOpts, tlsConfig, err := loadConfig(cfg)
	if err != nil {
		return nil, err
	}
	authOpts.AllowReauth = true

	httpClient := cfg.HTTPClient
	if httpClient == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 16
		if tlsConfig != nil {
			transport.TLSClientConfig = tlsConfig
		}
		httpClient = &http.Client{Transport: transport}
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	obs := (&Cloud{obs: cfg.Observer}).observer()
	observed := withDeadline(httpClient, timeout)
	tr := observeTransport{next: observed.Transport, obs: obs, services: new(atomic.Pointer[[]servicePrefix])}
	tr.setServices(authOpts.IdentityEndpoint)
	observed.Transport = tr
	provider, err := config.NewProviderClient(ctx, authOpts, config.WithHTTPClient(observed))
	if CredentialsRefused(err) {
		// An answer, not an outage: Link and serve's start-up tell them apart.
		return nil, &Error{Op: "authenticate", Kind: ErrRefused, Err: err,
			Reason: "Keystone refused the credentials: " + cause(err)}
	}
	if err != nil {
		return nil, classify("authenticate", err)
	}
	if cfg.UserAgent != "" {
		provider.UserAgent.Prepend(cfg.UserAgent)
	}
	provider.RetryFunc = newRetryPolicy(cfg).retry
	compute, err := openstack.NewComputeV2(provider, endpointOpts)
	if err != nil {
		return nil, fmt.Errorf("nodes: compute endpoint: %w", err)
	}
	compute.Microversion = novaMicroversion
	network, err := openstack.NewNetworkV2(provider, endpointOpts)
	var noEndpoint *gophercloud.ErrEndpointNotFound
	switch {
	case errors.As(err, &noEndpoint):
		network = nil // optional, see Cloud.Network
	case err != nil:
		return nil, fmt.Errorf("nodes: network endpoint: %w", err)
	}
	image, err := openstack.NewImageV2(provider, endpointOpts)
	if err != nil {
		return nil, fmt.Errorf("nodes: image endpoint: %w", err)
	}
	block, err := openstack.NewBlockStorageV3(provider, endpointOpts)
	switch {
	case errors.As(err, &noEndpoint):
		block = nil // optional, see Cloud.Block
	case err != nil:
		return nil, fmt.Errorf("nodes: block-storage endpoint: %w", err)
	}
	tr.setServices(authOpts.IdentityEndpoint, compute, network, image, block)
	return &Cloud{Compute: compute, Network: network, Image: image, Block: block, ProjectID: projectOf(provider), obs: obs}, nil
}

// projectOf is the project of the provider's Keystone v3 token, "" if it
// has none (an unscoped or v2 token).
func projectOf(provider *gophercloud.ProviderClient) string {
	r, ok := provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return ""
	}
	p, err := r.ExtractProject()
	if err != nil || p == nil {
		return ""
	}
	return p.ID
}

// needNetwork refuses op on a cloud whose catalog has no network service
// (Connect leaves Network nil then), naming what is missing.
func (c *Cloud) needNetwork(op string) error {
	if c.Network != nil {
		return nil
	}
	return &Error{Op: op, Kind: ErrUnavailable,
		Reason: "the cloud's catalog has no network service (Neutron), which this needs"}
}

func loadConfig(cfg CloudConfig) (gophercloud.AuthOptions, gophercloud.EndpointOpts, *tls.Config, error) {
	name := cfg.Cloud
	if name == "" {
		name = os.Getenv("OS_CLOUD")
	}
	if name == "" {
		if cfg.CloudsYAML != "" || cfg.CloudsYAMLData != nil {
			return gophercloud.AuthOptions{}, gophercloud.EndpointOpts{}, nil, errors.New("nodes: a clouds.yaml was given but no cloud name (--os-cloud or OS_CLOUD)")
		}
		// No cloud named: the OS_* variables, as `openstack` does.
		return envConfig()
	}
	opts := []clouds.ParseOption{clouds.WithCloudName(name)}
	switch {
	case cfg.CloudsYAMLData != nil:
		opts = append(opts, clouds.WithCloudsYAML(bytes.NewReader(cfg.CloudsYAMLData)))
	case cfg.CloudsYAML != "":
		opts = append(opts, clouds.WithLocations(cfg.CloudsYAML))
	}
	ao, eo, tlsConfig, err := clouds.Parse(opts...)
	if err != nil {
		return ao, eo, nil, fmt.Errorf("nodes: cloud %q: %w", name, err)
	}
	return ao, eo, tlsConfig, nil
}

// envConfig reads the OS_* variables an openrc file sets into a one-cloud
// clouds.yaml and lets gophercloud's clouds package interpret it, as
// os-client-config does with its "envvars" cloud. (gophercloud's own
// AuthOptionsFromEnv ignores OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME,
// which every Keystone v3 openrc sets.)
func envConfig() (gophercloud.AuthOptions, gophercloud.EndpointOpts, *tls.Config, error) {
	env := os.Getenv
	if env("OS_AUTH_URL") == "" {
		return gophercloud.AuthOptions{}, gophercloud.EndpointOpts{}, nil,
			errors.New("nodes: no cloud: give --os-cloud (or OS_CLOUD) with a clouds.yaml, or the OS_* variables of an openrc file")
	}
	cloud := clouds.Cloud{
		AuthInfo: &clouds.AuthInfo{
			AuthURL:                     env("OS_AUTH_URL"),
			Username:                    env("OS_USERNAME"),
			UserID:                      env("OS_USER_ID"),
			Password:                    env("OS_PASSWORD"),
			ProjectName:                 firstOf(env("OS_PROJECT_NAME"), env("OS_TENANT_NAME")),
			ProjectID:                   firstOf(env("OS_PROJECT_ID"), env("OS_TENANT_ID")),
			UserDomainName:              env("OS_USER_DOMAIN_NAME"),
			UserDomainID:                env("OS_USER_DOMAIN_ID"),
			ProjectDomainName:           env("OS_PROJECT_DOMAIN_NAME"),
			ProjectDomainID:             env("OS_PROJECT_DOMAIN_ID"),
			DomainName:                  env("OS_DOMAIN_NAME"),
			DomainID:                    env("OS_DOMAIN_ID"),
			ApplicationCredentialID:     env("OS_APPLICATION_CREDENTIAL_ID"),
			ApplicationCredentialName:   env("OS_APPLICATION_CREDENTIAL_NAME"),
			ApplicationCredentialSecret: env("OS_APPLICATION_CREDENTIAL_SECRET"),
			Token:                       env("OS_TOKEN"),
		},
		AuthType:           clouds.AuthType(env("OS_AUTH_TYPE")),
		RegionName:         env("OS_REGION_NAME"),
		Interface:          env("OS_INTERFACE"),
		IdentityAPIVersion: env("OS_IDENTITY_API_VERSION"),
		CACertFile:         env("OS_CACERT"),
		ClientCertFile:     env("OS_CERT"),
		ClientKeyFile:      env("OS_KEY"),
	}
	if env("OS_INSECURE") == "true" || env("OS_INSECURE") == "1" {
		verify := false
		cloud.Verify = &verify
	}
	data, err := yaml.Marshal(clouds.Clouds{Clouds: map[string]clouds.Cloud{"envvars": cloud}})
	if err != nil {
		return gophercloud.AuthOptions{}, gophercloud.EndpointOpts{}, nil, fmt.Errorf("nodes: OS_* variables: %w", err)
	}
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithCloudName("envvars"), clouds.WithCloudsYAML(bytes.NewReader(data)))
	if err != nil {
		return ao, eo, nil, fmt.Errorf("nodes: OS_* variables: %w", err)
	}
	return ao, eo, tlsConfig, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

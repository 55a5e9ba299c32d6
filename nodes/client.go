package nodes

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
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
	HTTPClient     *http.Client // nil = a dedicated client with sane timeouts
	UserAgent      string
}

// Cloud holds the authenticated service clients.
type Cloud struct {
	Compute *gophercloud.ServiceClient
	Network *gophercloud.ServiceClient
	Image   *gophercloud.ServiceClient
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
	provider, err := config.NewProviderClient(ctx, authOpts, config.WithHTTPClient(*httpClient))
	if err != nil {
		return nil, classify("authenticate", err)
	}
	if cfg.UserAgent != "" {
		provider.UserAgent.Prepend(cfg.UserAgent)
	}
	compute, err := openstack.NewComputeV2(provider, endpointOpts)
	if err != nil {
		return nil, fmt.Errorf("nodes: compute endpoint: %w", err)
	}
	compute.Microversion = novaMicroversion
	network, err := openstack.NewNetworkV2(provider, endpointOpts)
	if err != nil {
		return nil, fmt.Errorf("nodes: network endpoint: %w", err)
	}
	image, err := openstack.NewImageV2(provider, endpointOpts)
	if err != nil {
		return nil, fmt.Errorf("nodes: image endpoint: %w", err)
	}
	return &Cloud{Compute: compute, Network: network, Image: image}, nil
}

func loadConfig(cfg CloudConfig) (gophercloud.AuthOptions, gophercloud.EndpointOpts, *tls.Config, error) {
	name := cfg.Cloud
	if name == "" {
		name = os.Getenv("OS_CLOUD")
	}
	if name == "" {
		// No cloud named: the OS_* variables, as `openstack` does.
		ao, err := openstack.AuthOptionsFromEnv()
		if err != nil {
			return ao, gophercloud.EndpointOpts{}, nil, fmt.Errorf("nodes: no --os-cloud and incomplete OS_* environment: %w", err)
		}
		return ao, gophercloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")}, nil, nil
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

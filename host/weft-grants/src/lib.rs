//! Capability grants: what a plugin may reach, and the checks the runtime makes on every use.
//!
//! A plugin *declares* what it needs, an admin *approves* a grant when registering it, and each
//! task *narrows* it further (SSH only to the task's node, HTTP only to the provider's
//! endpoints): the effective grant is the intersection ([`Grants::intersect`]). An empty grant
//! denies everything.
//!
//! HTTP is checked twice: the URL against the grants (scheme, host, port: [`Grants::check_url`]),
//! then every address the host resolved the name to ([`HttpGrant::check_addresses`]). Loopback,
//! private, link-local, cloud-metadata and other non-public addresses are refused unless the
//! grant names that very address as its host. IPv4-mapped IPv6 addresses are judged as the IPv4
//! address they carry.
//!
//! Architecture invariant: pure. No I/O, no DNS: the runtime resolves and asks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a use of a capability was refused; the message names what was asked and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant '{grant}': {message}")]
pub struct GrantError {
    pub grant: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
}

/// What a grant's host matches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostPattern {
    /// One DNS name, lower case.
    Name(String),
    /// Any name under this suffix (`*.example.com` matches `a.example.com`, not `example.com`).
    Suffix(String),
    /// One address, named explicitly: allowed whatever its class.
    Address(IpAddr),
}

/// One HTTP grant: `https://api.example.com`, `https://*.example.com:8443`,
/// `http://127.0.0.1:2375`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HttpGrant {
    pub scheme: Scheme,
    pub host: HostPattern,
    /// `None`: the scheme's default port only.
    pub port: Option<u16>,
}

/// All of one plugin's (or one task's) grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub http: Vec<HttpGrant>,
    /// Unix socket paths the plugin may speak HTTP over (the Docker Engine API).
    pub unix_sockets: Vec<String>,
    /// SSH target names the plugin may open.
    pub ssh_targets: Vec<String>,
}

/// What kind of address a resolved IP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// Cloud instance-metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200).
    Metadata,
    /// Unspecified, broadcast, multicast, documentation, shared (CGNAT) and other reserved ranges.
    Reserved,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl HttpGrant {
    /// Parses `scheme://host[:port]` (no path, query or credentials).
    pub fn parse(text: &str) -> Result<HttpGrant, GrantError> {
        let fail = |message: &str| GrantError {
            grant: text.to_string(),
            message: message.to_string(),
        };
        let (scheme, rest) = match text.split_once("://") {
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("http", rest)) => (Scheme::Http, rest),
            _ => return Err(fail("must start with https:// or http://")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) || rest.is_empty() {
            return Err(fail(
                "must be scheme://host[:port], without path, query or credentials",
            ));
        }
        let (host, port) =
            split_host_port(rest).ok_or_else(|| fail("has a malformed host or port"))?;
        let host = if let Some(suffix) = host.strip_prefix("*.") {
            if !valid_name(suffix) || !suffix.contains('.') {
                return Err(fail(
                    "a wildcard must cover a domain with at least two labels, as *.example.com",
                ));
            }
            HostPattern::Suffix(suffix.to_ascii_lowercase())
        } else if let Ok(address) = host.parse::<IpAddr>() {
            HostPattern::Address(canonical(address))
        } else if valid_name(host) {
            HostPattern::Name(host.to_ascii_lowercase())
        } else {
            return Err(fail("has an invalid host name"));
        };
        Ok(HttpGrant { scheme, host, port })
    }

    /// Whether this grant allows `scheme://host[:port]` (the URL check of one grant).
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return false,
        };
        self.matches(scheme, host, port.unwrap_or(scheme.default_port()))
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    fn matches(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme || port != self.port() {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            HostPattern::Name(name) => host == *name,
            HostPattern::Suffix(suffix) => {
                host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}"))
            }
            HostPattern::Address(address) => {
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .ok()
                    .map(canonical)
                    == Some(*address)
            }
        }
    }

    /// Whether every address `host` resolved to may be reached under this grant.
    pub fn check_addresses(&self, host: &str, addresses: &[IpAddr]) -> Result<(), Denied> {
        if addresses.is_empty() {
            return Err(Denied(format!("{host} resolved to no address")));
        }
        for &address in addresses {
            let address = canonical(address);
            let class = classify(address);
            let named = self.host == HostPattern::Address(address);
            if class != AddressClass::Public && !named {
                return Err(Denied(format!(
                    "{host} resolves to {address}, a {} address; only a grant naming {address} itself allows it",
                    class.describe()
                )));
            }
        }
        Ok(())
    }

    /// Whether `self` allows everything `other` does (for intersections).
    fn covers(&self, other: &HttpGrant) -> bool {
        if self.scheme != other.scheme || self.port() != other.port() {
            return false;
        }
        match (&self.host, &other.host) {
            (a, b) if a == b => true,
            (HostPattern::Suffix(suffix), HostPattern::Name(name)) => {
                name.ends_with(&format!(".{suffix}"))
            }
            (HostPattern::Suffix(suffix), HostPattern::Suffix(inner)) => {
                inner.ends_with(&format!(".{suffix}"))
            }
            _ => false,
        }
    }
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Metadata => "cloud-metadata",
            AddressClass::Reserved => "reserved",
        }
    }
}

impl Grants {
    /// Grants nothing.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// The grant that allows `scheme://host:port`, if any.
    pub fn check_url(
        &self,
        scheme: &str,
        host: &str,
        port: Option<u16>,
    ) -> Result<&HttpGrant, Denied> {
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => {
                return Err(Denied(format!(
                    "scheme '{other}' is not allowed: use https or http"
                )));
            }
        };
        let port = port.unwrap_or(scheme.default_port());
        self.http
            .iter()
            .find(|g| g.matches(scheme, host, port))
            .ok_or_else(|| {
                let scheme = if scheme == Scheme::Https {
                    "https"
                } else {
                    "http"
                };
                Denied(format!(
                    "{scheme}://{host}:{port} is not granted to this plugin"
                ))
            })
    }

    pub fn check_ssh(&self, target: &str) -> Result<(), Denied> {
        if self.ssh_targets.iter().any(|t| t == target) {
            Ok(())
        } else {
            Err(Denied(format!(
                "ssh target '{target}' is not granted to this task"
            )))
        }
    }

    pub fn check_unix_socket(&self, path: &str) -> Result<(), Denied> {
        if self.unix_sockets.iter().any(|p| p == path) {
            Ok(())
        } else {
            Err(Denied(format!(
                "unix socket '{path}' is not granted to this plugin"
            )))
        }
    }

    /// What both allow: an HTTP grant survives where the other side has one that covers it
    /// (the narrower of the two is kept); sockets and SSH targets must appear on both sides.
    pub fn intersect(&self, other: &Grants) -> Grants {
        let mut http: Vec<HttpGrant> = Vec::new();
        for a in &self.http {
            for b in &other.http {
                let narrower = if b.covers(a) {
                    Some(a)
                } else if a.covers(b) {
                    Some(b)
                } else {
                    None
                };
                if let Some(grant) = narrower
                    && !http.contains(grant)
                {
                    http.push(grant.clone());
                }
            }
        }
        http.sort();
        let both =
            |a: &[String], b: &[String]| a.iter().filter(|x| b.contains(x)).cloned().collect();
        Grants {
            http,
            unix_sockets: both(&self.unix_sockets, &other.unix_sockets),
            ssh_targets: both(&self.ssh_targets, &other.ssh_targets),
        }
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// What kind of address `address` is.
pub fn classify(address: IpAddr) -> AddressClass {
    match canonical(address) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        AddressClass::Metadata
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let first = ip.segments()[0];
    if ip
        == "fd00:ec2::254"
            .parse::<Ipv6Addr>()
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    {
        AddressClass::Metadata
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if first & 0xfe00 == 0xfc00 {
        AddressClass::Private // unique local
    } else if first & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || first == 0x0064 // NAT64, which could reach private IPv4
        || (first == 0 && ip.to_ipv4().is_some())
    // IPv4-compatible (deprecated)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            Some((host, Some(port.parse().ok().filter(|p| *p != 0)?)))
        }
        Some(_) => Some((text, None)), // a bare IPv6 address
        None => Some((text, None)),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

// Plugin grants as registered (weft-model's `PluginGrants`): their form, and an approval's
// relation to the request.

/// Checks the form of grants; on failure names the field (`http[0]`) and the rule.
pub fn check_plugin_grants(grants: &weft_model::PluginGrants) -> Result<(), (String, String)> {
    for (i, url) in grants.http.iter().enumerate() {
        HttpGrant::parse(url).map_err(|e| (format!("http[{i}]"), e.to_string()))?;
    }
    for (i, path) in grants.unix_sockets.iter().enumerate() {
        if !path.starts_with('/') || path.split('/').any(|p| p == "..") {
            return Err((
                format!("unixSockets[{i}]"),
                format!("'{path}' must be an absolute path without '..'"),
            ));
        }
    }
    Ok(())
}

/// Whether `approved` stays within `requested`: an admin may narrow a request, not widen it.
pub fn within_request(
    approved: &weft_model::PluginGrants,
    requested: &weft_model::PluginGrants,
) -> Result<(), (String, String)> {
    check_plugin_grants(approved)?;
    let asked = task_grants(requested);
    for (i, url) in approved.http.iter().enumerate() {
        let grant = HttpGrant::parse(url).map_err(|e| (format!("http[{i}]"), e.to_string()))?;
        let narrowed = asked.intersect(&Grants {
            http: vec![grant.clone()],
            ..Default::default()
        });
        if narrowed.http != vec![grant] {
            return Err((
                format!("http[{i}]"),
                format!("'{url}' is not within what the plugin requested"),
            ));
        }
    }
    for (i, path) in approved.unix_sockets.iter().enumerate() {
        if !requested.unix_sockets.contains(path) {
            return Err((
                format!("unixSockets[{i}]"),
                format!("'{path}' is not a socket the plugin requested"),
            ));
        }
    }
    if approved.ssh && !requested.ssh {
        return Err(("ssh".into(), "the plugin did not request SSH".into()));
    }
    Ok(())
}

/// Approved grants as the runtime checks them (SSH targets are added per task).
pub fn task_grants(approved: &weft_model::PluginGrants) -> Grants {
    Grants {
        http: approved
            .http
            .iter()
            .filter_map(|url| HttpGrant::parse(url).ok())
            .collect(),
        unix_sockets: approved.unix_sockets.clone(),
        ssh_targets: Vec::new(),
    }
}

#[cfg(test)]
mod tests;

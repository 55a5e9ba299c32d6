# member.py OUTDIR: Neutron's mac_address policy for a member user, same project and other project.
import json, sys, os, requests
OUT = sys.argv[1]; os.makedirs(OUT, exist_ok=True)
K = "http://127.0.0.1:5000/v3"; NET = "http://127.0.0.1:9696/v2.0"
def tok(user, pw, project):
    r = requests.post(K + "/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": pw, "domain": {"id": "default"}}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    r.raise_for_status(); return r.headers["X-Subject-Token"], r.json()["token"]
T, tb = tok("admin", "admin", "admin"); H = {"X-Auth-Token": T}
def get1(path, name):
    l = requests.get(K + path + "?name=" + name, headers=H).json()
    k = path.strip("/")
    return l[k][0] if l[k] else None
member = get1("/roles", "member")
proj = get1("/projects", "probe-other") or requests.post(K + "/projects", json={"project": {"name": "probe-other", "domain_id": "default"}}, headers=H).json()["project"]
admp = get1("/projects", "admin")
u = get1("/users", "probe-member") or requests.post(K + "/users", json={"user": {"name": "probe-member", "password": "pw", "domain_id": "default"}}, headers=H).json()["user"]
for p in (proj, admp):
    requests.put(K + "/projects/%s/users/%s/roles/%s" % (p["id"], u["id"], member["id"]), headers=H)
net = requests.get(NET + "/networks?name=provision", headers=H).json()["networks"][0]
sh = requests.post(NET + "/networks", json={"network": {"name": "probe-shared", "shared": True}}, headers=H).json()["network"]
requests.post(NET + "/subnets", json={"subnet": {"network_id": sh["id"], "cidr": "10.250.0.0/24", "ip_version": 4, "enable_dhcp": False}}, headers=H)
i = [0]
def rec(label, r, body):
    i[0] += 1
    json.dump({"request": body, "response": {"status": r.status_code, "body": r.json() if r.text else None}}, open(os.path.join(OUT, "%02d-%s.json" % (i[0], label)), "w"), indent=1, sort_keys=True)
    print(label, r.status_code, r.text[:300])
    return r
for pname in ("admin", "probe-other"):
    mt, mtb = tok("probe-member", "pw", pname)
    rec("member-token-" + pname, type("R", (), {"status_code": 201, "text": "x", "json": lambda s=None: {"roles": mtb["roles"]}})(), None)
    MH = {"X-Auth-Token": mt}
    for nname, n in (("provision", net), ("shared", sh)):
        for mac in ("52:54:02:00:00:01", None):
            b = {"port": {"network_id": n["id"], "name": "probe-member-port"}}
            if mac: b["port"]["mac_address"] = mac
            r = rec("%s-port-%s-%s" % (pname, nname, "mac" if mac else "nomac"), requests.post(NET + "/ports", json=b, headers=MH), b)
            if r.status_code == 201:
                requests.delete(NET + "/ports/" + r.json()["port"]["id"], headers=H)
    rec(pname + "-networks-list", requests.get(NET + "/networks", headers=MH), None)
# duplicate MAC as admin
b = {"port": {"network_id": net["id"], "mac_address": "52:54:00:00:00:01"}}
rec("admin-dup-mac", requests.post(NET + "/ports", json=b, headers=H), b)
b = {"port": {"network_id": sh["id"], "mac_address": "52:54:00:00:00:01"}}
r = rec("admin-same-mac-other-net", requests.post(NET + "/ports", json=b, headers=H), b)
if r.status_code == 201: requests.delete(NET + "/ports/" + r.json()["port"]["id"], headers=H)
for p in requests.get(NET + "/ports?network_id=" + sh["id"], headers=H).json()["ports"]:
    requests.delete(NET + "/ports/" + p["id"], headers=H)
requests.delete(NET + "/networks/" + sh["id"], headers=H)

# probe.py OUTDIR: record real Cinder (and a few Nova/Neutron) answers as full JSON.
import json, sys, time, os, requests
OUT = sys.argv[1]; os.makedirs(OUT, exist_ok=True)
K = "http://127.0.0.1:5000/v3"; N = "http://127.0.0.1:8774/v2.1"; NET = "http://127.0.0.1:9696/v2.0"; V = "http://127.0.0.1:8776"
n = [0]
def save(label, method, url, r, body=None, extra=None):
    n[0] += 1
    try: rb = r.json()
    except Exception: rb = r.text
    rec = {"request": {"method": method, "url": url, "body": body}, "response": {"status": r.status_code,
           "headers": {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "location", "openstack-api-version", "x-openstack-request-id")}, "body": rb}}
    if extra: rec.update(extra)
    json.dump(rec, open(os.path.join(OUT, "%03d-%s.json" % (n[0], label)), "w"), indent=1, sort_keys=True)
    return r
def tok(user="admin", pw="admin", project="admin"):
    r = requests.post(K + "/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": pw, "domain": {"id": "default"}}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    r.raise_for_status()
    return r.headers["X-Subject-Token"], r.json()["token"]
T, tb = tok()
save("token-catalog", "POST", K + "/auth/tokens", type("R", (), {"status_code": 201, "headers": {}, "json": lambda self=None: {"catalog": tb["catalog"], "roles": tb["roles"]}, "text": ""})())
PID = tb["project"]["id"]
H = {"X-Auth-Token": T}
def call(label, method, url, body=None, hdr=None, tok=True):
    h = dict(H) if tok else {}
    h["Accept"] = "application/json"
    if hdr: h.update(hdr)
    r = requests.request(method, url, json=body, headers=h, allow_redirects=False)
    return save(label, method, url, r, body)
for p in ["/", "/v3", "/v3/", "/v3/" + PID]:
    call("discovery" + p.replace("/", "_").replace(PID, "PID"), "GET", V + p, tok=False)
VP = V + "/v3/" + PID
call("types-list", "GET", VP + "/types")
call("types-default", "GET", VP + "/types/default")
call("quota-show-usage", "GET", VP + "/os-quota-sets/" + PID + "?usage=True")
call("quota-show", "GET", VP + "/os-quota-sets/" + PID)
call("quota-defaults", "GET", VP + "/os-quota-sets/" + PID + "/defaults")
call("volumes-list-empty", "GET", VP + "/volumes")
def poll_vol(label, vid, until, maxt=120):
    seq = []; t0 = time.time()
    while time.time() - t0 < maxt:
        r = requests.get(VP + "/volumes/" + vid, headers=H)
        st = "404" if r.status_code == 404 else r.json()["volume"]["status"]
        if st.startswith("error"): print("ERROR", r.json())
        if not seq or seq[-1] != st: seq.append(st)
        if st == until or st == "404" or st.startswith("error"): break
        time.sleep(0.02)
    json.dump({"sequence": seq}, open(os.path.join(OUT, "seq-%s.json" % label), "w"))
    print(label, seq)
    return seq
r = call("volume-create", "POST", VP + "/volumes", {"volume": {"size": 1, "name": "probe-vol", "description": "probe", "metadata": {"k": "v"}}})
vid = r.json()["volume"]["id"]
poll_vol("create", vid, "available")
call("volume-show", "GET", VP + "/volumes/" + vid)
call("volume-show-mv3.70", "GET", VP + "/volumes/" + vid, hdr={"OpenStack-API-Version": "volume 3.70"})
call("volumes-list", "GET", VP + "/volumes")
call("volumes-detail", "GET", VP + "/volumes/detail")
call("volume-update", "PUT", VP + "/volumes/" + vid, {"volume": {"name": "probe-vol2", "description": "d2", "metadata": {"a": "b"}}})
call("volume-update-empty", "PUT", VP + "/volumes/" + vid, {"volume": {}})
call("quota-show-usage-1", "GET", VP + "/os-quota-sets/" + PID + "?usage=True")
for lbl, b in [("size-0", {"volume": {"size": 0}}), ("size-neg", {"volume": {"size": -1}}), ("size-str", {"volume": {"size": "abc"}}),
               ("size-missing", {"volume": {"name": "x"}}), ("no-volume", {"x": 1}), ("size-over-quota", {"volume": {"size": 100001}}),
               ("bad-type", {"volume": {"size": 1, "volume_type": "nope"}})]:
    call("volume-create-" + lbl, "POST", VP + "/volumes", b)
U = "00000000-0000-4000-8000-000000000000"
call("volume-show-unknown", "GET", VP + "/volumes/" + U)
call("volume-delete-unknown", "DELETE", VP + "/volumes/" + U)
call("volume-update-unknown", "PUT", VP + "/volumes/" + U, {"volume": {"name": "x"}})
call("type-show-unknown", "GET", VP + "/types/" + U)
call("volumes-other-project", "GET", V + "/v3/0123456789abcdef0123456789abcdef/volumes")
# boot from volume
fl = [f for f in requests.get(N + "/flavors", headers=H).json()["flavors"] if f["name"] == "baremetal"][0]["id"]
net = requests.get(NET + "/networks?name=provision", headers=H).json()["networks"][0]["id"]
NH = {"X-OpenStack-Nova-API-Version": "2.79"}
def bfv(name, v, dot=False):
    return {"server": {"name": name, "flavorRef": fl, "networks": [{"uuid": net}], "block_device_mapping_v2": [
        {"uuid": v, "source_type": "volume", "destination_type": "volume", "boot_index": 0, "delete_on_termination": dot}]}}
call("server-create-bfv-not-bootable", "POST", N + "/servers", bfv("probe-bfv", vid), hdr=NH)
time.sleep(1)
for s in requests.get(N + "/servers?name=probe-bfv", headers=H).json()["servers"]:
    requests.delete(N + "/servers/" + s["id"], headers=H)
poll_vol("after-not-bootable", vid, "available", 20)
call("volume-set-bootable", "POST", VP + "/volumes/" + vid + "/action", {"os-set_bootable": {"bootable": True}})
r = call("server-create-bfv", "POST", N + "/servers", bfv("probe-bfv", vid), hdr=NH)
sid = r.json()["server"]["id"]
poll_vol("attach", vid, "in-use")
t0 = time.time()
while requests.get(N + "/servers/" + sid, headers=H).json()["server"]["status"] not in ("ACTIVE", "ERROR") and time.time() - t0 < 120: time.sleep(0.2)
call("server-show-bfv", "GET", N + "/servers/" + sid, hdr=NH)
call("volume-show-in-use", "GET", VP + "/volumes/" + vid)
call("volume-delete-in-use", "DELETE", VP + "/volumes/" + vid)
call("volume-update-in-use", "PUT", VP + "/volumes/" + vid, {"volume": {"name": "probe-vol3"}})
call("server-create-bfv-in-use", "POST", N + "/servers", bfv("probe-bfv2", vid), hdr=NH)
call("server-delete-bfv", "DELETE", N + "/servers/" + sid, hdr=NH)
poll_vol("detach", vid, "available")
call("volume-show-after-detach", "GET", VP + "/volumes/" + vid)
call("volume-delete", "DELETE", VP + "/volumes/" + vid)
poll_vol("delete", vid, "404")
# delete_on_termination
r = requests.post(VP + "/volumes", json={"volume": {"size": 1, "name": "probe-dot"}}, headers=H); v2 = r.json()["volume"]["id"]
poll_vol("create2", v2, "available")
requests.post(VP + "/volumes/" + v2 + "/action", json={"os-set_bootable": {"bootable": True}}, headers=H)
sid = requests.post(N + "/servers", json=bfv("probe-dot", v2, True), headers=dict(H, **NH)).json()["server"]["id"]
poll_vol("attach2", v2, "in-use")
t0 = time.time()
while requests.get(N + "/servers/" + sid, headers=H).json()["server"]["status"] not in ("ACTIVE", "ERROR") and time.time() - t0 < 120: time.sleep(0.2)
requests.delete(N + "/servers/" + sid, headers=H)
poll_vol("delete-on-termination", v2, "404")
# nova errors
call("server-create-unknown-flavor", "POST", N + "/servers", {"server": {"name": "probe-x", "flavorRef": U, "imageRef": U, "networks": "none"}}, hdr=NH)
img = requests.get("http://127.0.0.1:9292/v2/images?name=ipxe-boot", headers=H).json()["images"][0]["id"]
call("server-create-unknown-image", "POST", N + "/servers", {"server": {"name": "probe-x", "flavorRef": fl, "imageRef": U, "networks": "none"}}, hdr=NH)
call("server-create-unknown-network", "POST", N + "/servers", {"server": {"name": "probe-x", "flavorRef": fl, "imageRef": img, "networks": [{"uuid": U}]}}, hdr=NH)
call("server-create-unknown-port", "POST", N + "/servers", {"server": {"name": "probe-x", "flavorRef": fl, "imageRef": img, "networks": [{"port": U}]}}, hdr=NH)
call("compute-quota-show", "GET", N + "/os-quota-sets/" + PID + "/detail", hdr=NH)
fr = requests.post(N + "/flavors", json={"flavor": {"name": "probe-huge", "ram": 5000000, "vcpus": 1, "disk": 1}}, headers=dict(H, **NH)).json()["flavor"]["id"]
call("server-create-over-ram-quota", "POST", N + "/servers", {"server": {"name": "probe-x", "flavorRef": fr, "imageRef": img, "networks": "none"}}, hdr=NH)
requests.delete(N + "/flavors/" + fr, headers=H)
print("done", OUT)

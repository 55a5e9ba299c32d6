# record.py: GET each catalog URL and version root of the real cloud without a
# token and without following redirects, as keystoneauth's discovery does.
import http.client, json, sys
ROOTS = {"identity": 5000, "compute": 8774, "image": 9292, "network": 9696, "volume": 8776}
PATHS = [("identity", "/"), ("identity", "/v3"), ("identity", "/v3/"),
         ("compute", "/"), ("compute", "/v2.1"), ("compute", "/v2.1/"),
         ("image", "/"), ("network", "/"),
         ("volume", "/"), ("volume", "/v3"), ("volume", "/v3/")]
KEEP = ["Content-Type", "Location", "OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]
out = []
for svc, path in PATHS:
    c = http.client.HTTPConnection("127.0.0.1", ROOTS[svc])
    c.request("GET", path, headers={"Accept": "application/json"})
    r = c.getresponse()
    body = r.read()
    hdr = {k: r.getheader(k) for k in KEEP if r.getheader(k) is not None}
    out.append({"service": svc, "root": "http://127.0.0.1:%d" % ROOTS[svc], "path": path,
                "status": r.status, "headers": hdr, "body": json.loads(body) if body else None})
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()

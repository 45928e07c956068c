# nginx on the container's loopback, and 1000 GETs on one keep-alive connection.
set -eu
cat >/run/nginx.conf <<'CONF'
worker_processes 1;
pid /run/nginx.pid;
error_log /dev/stderr;
events {}
http {
    access_log off;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:8080;
        root /var/www/html;
    }
}
CONF
nginx -c /run/nginx.conf
python3 - <<'PY'
import http.client, time
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", 8080)
        c.connect()
        break
    except OSError:
        time.sleep(0.01)
start = time.perf_counter()
codes, size = {}, 0
for _ in range(1000):
    c.request("GET", "/index.nginx-debian.html")
    r = c.getresponse()
    size += len(r.read())
    codes[r.status] = codes.get(r.status, 0) + 1
elapsed = time.perf_counter() - start
print("responses", sorted(codes.items()), "bytes", size)
print("elapsed", f"{elapsed:.4f}")
PY
kill "$(cat /run/nginx.pid)"

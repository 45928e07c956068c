# Every name on the image (what the policy denies on purpose left out of the comparison).
set -eu
start=$(date +%s%N)
sum=$(find / -xdev 2>/dev/null | grep -v '^/srv/secret/' | sort | md5sum)
end=$(date +%s%N)
echo "$sum"
echo elapsed "$(( (end - start) / 1000 ))e-6"

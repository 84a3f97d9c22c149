"""redis-py's `RedisCluster`, a cluster client nobody here wrote, against a cluster.

Usage: redis_py_cluster_check.py PORT

PORT is any node of a cluster whose slot map is in place (tests/server_cluster.rs starts
three `floe serve --cluster-enabled` nodes and runs `floe cluster create`). The client
discovers the nodes from CLUSTER SLOTS, then: SET/GET of 200 keys spread over every node,
a hash-tagged MSET/MGET, MGET across slots (redis-py splits it per slot itself), a
cross-slot MSET sent to one node raw (CROSSSLOT), a pipeline, and CLUSTER KEYSLOT. Each
check prints `ok NAME` or `FAIL NAME` with the reason; the exit code is 1 if any failed.
"""

import sys
import traceback

from redis.cluster import RedisCluster
from redis.exceptions import ResponseError

HOST = "127.0.0.1"


def check_keys_spread(cluster):
    for index in range(200):
        cluster.set(f"key:{index}", f"value:{index}")
    for index in range(200):
        assert cluster.get(f"key:{index}") == f"value:{index}", index
    nodes = cluster.get_primaries()
    assert len(nodes) == 3, nodes
    counts = [cluster.dbsize(target_nodes=node) for node in nodes]
    assert all(count > 0 for count in counts), counts


def check_hash_tags(cluster):
    cluster.mset({"{user1000}.following": "a", "{user1000}.followers": "b"})
    assert cluster.mget("{user1000}.following", "{user1000}.followers") == ["a", "b"]
    assert cluster.keyslot("{user1000}.following") == 3443
    assert cluster.cluster_keyslot("foo") == 12182


def check_mget_across_slots(cluster):
    cluster.set("foo", "1")
    cluster.set("bar", "2")
    assert cluster.mget_nonatomic("foo", "bar") == ["1", "2"]


def check_crossslot(cluster):
    node = cluster.get_node_from_key("bar")
    connection = node.redis_connection
    try:
        connection.execute_command("MSET", "bar", "1", "foo", "2")
    except ResponseError as error:
        assert str(error) == "Keys in request don't hash to the same slot", str(error)
    else:
        raise AssertionError("a cross-slot MSET was accepted")


def check_pipeline(cluster):
    pipe = cluster.pipeline()
    for index in range(50):
        pipe.set(f"pipe:{index}", index)
    pipe.execute()
    pipe = cluster.pipeline()
    for index in range(50):
        pipe.get(f"pipe:{index}")
    assert pipe.execute() == [str(index) for index in range(50)]


def main():
    port = int(sys.argv[1])
    cluster = RedisCluster(host=HOST, port=port, decode_responses=True)
    failed = False
    for check in [
        check_keys_spread,
        check_hash_tags,
        check_mget_across_slots,
        check_crossslot,
        check_pipeline,
    ]:
        try:
            check(cluster)
            print(f"ok {check.__name__}")
        except Exception:
            failed = True
            print(f"FAIL {check.__name__}: {traceback.format_exc()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

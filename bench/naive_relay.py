#!/usr/bin/env python3
"""The issue's reference point: a naive TCP relay in Python.

    naive_relay.py LISTEN_PORT UPSTREAM_PORT

Listens on 127.0.0.1:LISTEN_PORT; for every connection, connects to
127.0.0.1:UPSTREAM_PORT and copies bytes both ways with one blocking thread
per direction (recv of up to 256 KiB, sendall).  No parsing, no limits, no
error handling beyond closing both sockets: for bench/bench_relay.sh only.
"""
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(262144)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, upstream_port):
    up = socket.create_connection(("127.0.0.1", upstream_port))
    for s in (client, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(client, up), daemon=True).start()
    threading.Thread(target=pump, args=(up, client), daemon=True).start()


def main():
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(16)
    while True:
        client, _ = srv.accept()
        serve(client, upstream_port)


if __name__ == "__main__":
    main()

import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="x")
msg=b"a"*100
c.sendall(msg); c.recv(100)
time.sleep(3)   # gdb attaches now
for _ in range(2):
    c.sendall(msg); got=b""
    while len(got) < 100: got += c.recv(100-len(got))
    time.sleep(0.3)

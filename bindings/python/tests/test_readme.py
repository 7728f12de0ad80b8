"""The README's Python example (bindings/readme_check.sh keeps the two in sync)."""


def test_readme_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    import thunder

    with thunder.open("app.db") as db:
        with db.update() as tx:  # commits at the end of the block, aborts on an exception
            users = tx.create_bucket(b"users", exist_ok=True)
            users[b"alice"] = b"admin"
        with db.view() as tx:
            users = tx.bucket(b"users")
            print(users[b"alice"], users.get(b"bob"))
            for key, value in users.cursor():
                print(key, value)

    assert capsys.readouterr().out == "b'admin' None\nb'alice' b'admin'\n"

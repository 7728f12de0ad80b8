package thunder_test

import (
	"fmt"
	"os"
	"path/filepath"

	"thunder"
)

func ExampleDB_Update() {
	dir, _ := os.MkdirTemp("", "thunder-example")
	defer os.RemoveAll(dir)
	db, err := thunder.Open(filepath.Join(dir, "app.db"), nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	err = db.Update(func(tx *thunder.Tx) error {
		users, err := tx.CreateBucketIfNotExists([]byte("users"))
		if err != nil {
			return err
		}
		return users.Put([]byte("alice"), []byte("admin"))
	})
	if err != nil {
		panic(err)
	}
	_ = db.View(func(tx *thunder.Tx) error {
		users, err := tx.Bucket([]byte("users"))
		if err != nil {
			return err
		}
		role, err := users.Get([]byte("alice"))
		fmt.Printf("alice is %s\n", role)
		_, err = users.Get([]byte("bob"))
		fmt.Println("bob:", err)
		return nil
	})
	// Output:
	// alice is admin
	// bob: thunder: not found: thunder_bucket_get: key not found
}

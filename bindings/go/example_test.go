package thunder_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"thunder"
)

// The README's Go example (bindings/readme_check.sh keeps the two in sync).
func Example() {
	dir, _ := os.MkdirTemp("", "thunder-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")

	db, err := thunder.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *thunder.Tx) error {
		return tx.Put([]byte("alice"), []byte("admin"))
	}); err != nil {
		log.Fatal(err)
	}
	_ = db.View(func(tx *thunder.Tx) error {
		role, err := tx.Get([]byte("alice")) // copied: valid after the transaction
		fmt.Printf("alice is %s (%v)\n", role, err)
		_, err = tx.Get([]byte("bob"))
		fmt.Println(errors.Is(err, thunder.ErrNotFound), err)
		return nil
	})
	// Output:
	// alice is admin (<nil>)
	// true thunder: not found: thunder_get: key not found
}

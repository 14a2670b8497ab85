package gormfile_test

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage/memstore"
)

// Attachment is a model with a file column.
type Attachment struct {
	ID   uint
	Name string
	File field.File `gorm:"size:100" file:"upload_to:uploads/"`
}

func Example() {
	ctx := context.Background()
	db, _ := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{
		Logger: logger.Default.LogMode(logger.Silent),
	})
	media := memstore.New(&memstore.Options{BaseURL: "https://media.example.com/"})
	if err := db.Use(gormfile.New(media, nil)); err != nil {
		panic(err)
	}
	db.AutoMigrate(&Attachment{})

	// Two uploads of one client name get two keys.
	for _, body := range []string{"first", "second"} {
		a := Attachment{Name: body, File: field.NewFile(strings.NewReader(body), "my report.txt")}
		if err := db.Create(&a).Error; err != nil {
			panic(err)
		}
	}

	var rows []Attachment
	db.Order("id").Find(&rows)
	url, _ := rows[0].File.URL(ctx)
	fmt.Println(rows[0].File.Key(), url)
	fmt.Println(len(rows[1].File.Key()) == len("uploads/my_report_xxxxxxx.txt"))

	// Deleting a row deletes its object once the delete commits.
	db.Delete(&rows[1])
	fmt.Println(media.Len(), "object left")
	// Output:
	// uploads/my_report.txt https://media.example.com/uploads/my_report.txt
	// true
	// 1 object left
}

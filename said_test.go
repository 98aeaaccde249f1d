package ftp

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSaidLocalised checks that the reason of a refusal is read from the
// strerror texts of glibc's catalogues (as ProFTPD and Pure-FTPd send them
// under a non-English locale), and that a phrase holding another's is not
// taken for it ("no es un directorio" is not "es un directorio").
func TestSaidLocalised(t *testing.T) {
	tests := []struct {
		msg  string
		want error
	}{
		{"x: No such file or directory", fs.ErrNotExist},
		{"x: Permission denied", fs.ErrPermission},
		{"x: Operation not permitted", fs.ErrPermission},
		{"x: 没有那个文件或目录", fs.ErrNotExist},
		{"x: 权限不够", fs.ErrPermission},
		{"x: 不是目录", ErrNotDir},
		{"x: 是一个目录", ErrIsDir},
		{"x: 目录非空", ErrDirNotEmpty},
		{"x: 文件已存在", fs.ErrExist},
		{"x: 沒有此一檔案或目錄", fs.ErrNotExist},
		{"x: 拒絕不符權限的操作", fs.ErrPermission},
		{"x: そのようなファイルやディレクトリはありません", fs.ErrNotExist},
		{"x: 許可がありません", fs.ErrPermission},
		{"x: ディレクトリではありません", ErrNotDir},
		{"x: ディレクトリです", ErrIsDir},
		{"x: ディレクトリは空ではありません", ErrDirNotEmpty},
		{"x: 그런 파일이나 디렉터리가 없습니다", fs.ErrNotExist},
		{"x: 허가 거부", fs.ErrPermission},
		{"x: 디렉터리가 아닙니다", ErrNotDir},
		{"x: 디렉터리입니다", ErrIsDir},
		{"x: Datei oder Verzeichnis nicht gefunden", fs.ErrNotExist},
		{"x: Keine Berechtigung", fs.ErrPermission},
		{"x: Ist kein Verzeichnis", ErrNotDir},
		{"x: Ist ein Verzeichnis", ErrIsDir},
		{"x: Das Verzeichnis ist nicht leer", ErrDirNotEmpty},
		{"x: Aucun fichier ou dossier de ce type", fs.ErrNotExist},
		{"x: Permission non accordée", fs.ErrPermission},
		{"x: No existe el fichero o el directorio", fs.ErrNotExist},
		{"x: No es un directorio", ErrNotDir},
		{"x: Es un directorio", ErrIsDir},
		{"x: El fichero ya existe", fs.ErrExist},
		{"x: Нет такого файла или каталога", fs.ErrNotExist},
		{"x: Отказано в доступе", fs.ErrPermission},
		{"x: Это не каталог", ErrNotDir},
		{"x: Non è una directory", ErrNotDir},
		{"x: È una directory", ErrIsDir},
		{"x: Não é um diretório", ErrNotDir},
		{"x: Nie jest katalogiem", ErrNotDir},
		{"x: Jest katalogiem", ErrIsDir},
		{"Delete operation failed.", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, said(tt.msg), tt.msg)
	}
}

// TestErrorIsLocalised checks the consequence that matters: a Chinese
// permission refusal of RETR is fs.ErrPermission, not fs.ErrNotExist (a
// caller that treats "missing" as "nothing to do" would skip the file).
func TestErrorIsLocalised(t *testing.T) {
	denied := &Error{Code: 550, Cmd: "RETR", Msg: "a.txt: 权限不够"}
	assert.ErrorIs(t, denied, fs.ErrPermission)
	assert.NotErrorIs(t, denied, fs.ErrNotExist)
	missing := &Error{Code: 550, Cmd: "RETR", Msg: "a.txt: 没有那个文件或目录"}
	assert.ErrorIs(t, missing, fs.ErrNotExist)
}

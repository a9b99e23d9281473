package drive

import (
	"archive/zip"
	"compress/flate"
	"context"
	"io"
	"net/http"
	"path"
	"strings"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// MaxZipItems bounds the items of a folder downloaded as a zip.
const MaxZipItems = 100000

// Archive is a folder ready to stream as a zip: its files that may be
// served, and those left out (not cleared by the antivirus).
type Archive struct {
	Name    string // the folder's name, the archive's root
	Entries []ZipEntry
	Skipped []ZipEntry
	Size    int64 // bytes of the files included
}

// ZipEntry is an item of an archive, at Path ("Dossier/sous/nom").
type ZipEntry struct {
	Path string
	Node store.Node
}

// Zip plans the download of a folder as a zip: only files the antivirus
// cleared are included, up to max_zip_size bytes in all.
func (s *Service) Zip(ctx context.Context, u identity.User, space, id string) (Archive, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return Archive{}, err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return Archive{}, err
	}
	if n.Kind != store.KindFolder {
		return Archive{}, fail(http.StatusBadRequest, "not_a_folder", "Seul un dossier se télécharge en archive zip.")
	}
	below, err := s.store.LiveTree(ctx, space, n.ID, MaxZipItems)
	if err != nil {
		return Archive{}, err
	}
	if len(below) > MaxZipItems {
		return Archive{}, fail(http.StatusRequestEntityTooLarge, "zip_too_large", "Ce dossier contient trop d'éléments pour une archive (100 000 au plus).")
	}
	a := Archive{Name: zipName(n.Name)}
	paths := map[string]string{n.ID: a.Name}
	for _, c := range below {
		p := paths[c.ParentID] + "/" + zipName(c.Name)
		e := ZipEntry{Path: p, Node: c}
		switch {
		case c.Kind == store.KindFolder:
			paths[c.ID] = p
			a.Entries = append(a.Entries, e)
		case c.Scan == store.ScanClean || c.Scan == store.ScanSkipped:
			a.Entries = append(a.Entries, e)
			a.Size += c.Size
		default:
			a.Skipped = append(a.Skipped, e)
		}
	}
	if s.cfg.MaxZipSize > 0 && a.Size > s.cfg.MaxZipSize {
		return Archive{}, fail(http.StatusRequestEntityTooLarge, "zip_too_large",
			"Ce dossier dépasse la taille maximale d'une archive ("+humanSize(s.cfg.MaxZipSize)+") : téléchargez ses sous-dossiers séparément.")
	}
	s.audit(ctx, space, u.ID, "download_zip", n.ID, n.Name)
	return a, nil
}

// zipName makes an entry name safe for every unzip tool, whatever the
// name's history: no separators, no control characters, no "." or "..".
func zipName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		return "_"
	}
	return name
}

// stored lists extensions of formats compressed already: stored as is,
// deflating them again costs CPU for nothing.
var stored = map[string]bool{}

func init() {
	for _, ext := range strings.Fields(`zip gz tgz bz2 xz zst 7z rar jar apk
		jpg jpeg png gif webp heic heif avif mp3 mp4 m4a m4v aac ogg oga opus flac mov mkv webm avi wmv
		pdf docx xlsx pptx odt ods odp epub`) {
		stored[ext] = true
	}
}

const skippedName = "LISEZ-MOI - fichiers non inclus.txt"

// WriteZip streams a to w: folders as entries (empty ones kept), files
// read from the blob store one after the other — nothing staged.
func (s *Service) WriteZip(ctx context.Context, w io.Writer, a Archive) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + "/", Method: zip.Store}); err != nil {
		return err
	}
	for _, e := range a.Entries {
		h := &zip.FileHeader{Name: e.Path, Modified: e.Node.ModifiedAt, Method: zip.Deflate}
		if e.Node.Kind == store.KindFolder {
			h.Name, h.Method = e.Path+"/", zip.Store
			if _, err := zw.CreateHeader(h); err != nil {
				return err
			}
			continue
		}
		if ext := strings.TrimPrefix(strings.ToLower(path.Ext(e.Node.Name)), "."); stored[ext] {
			h.Method = zip.Store
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		rc, _, err := s.blobs.Get(ctx, e.Node.BlobKey, 0, -1)
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	if len(a.Skipped) > 0 {
		fw, err := zw.Create(a.Name + "/" + skippedName)
		if err != nil {
			return err
		}
		io.WriteString(fw, "Ces fichiers ne sont pas dans l'archive : l'antivirus ne les a pas (encore) autorisés.\r\n\r\n")
		for _, e := range a.Skipped {
			io.WriteString(fw, e.Path+" — "+scanLabel(e.Node.Scan)+"\r\n")
		}
	}
	return zw.Close()
}

func scanLabel(state string) string {
	switch state {
	case store.ScanPending:
		return "en cours d'analyse"
	case store.ScanInfected:
		return "infecté, en quarantaine"
	}
	return "non analysable"
}

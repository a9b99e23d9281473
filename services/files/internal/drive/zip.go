package drive

import (
	"archive/zip"
	"compress/flate"
	"context"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"bureau/services/files/internal/names"
	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// MaxZipItems bounds the items of a folder downloaded as a zip.
const MaxZipItems = 100000

// Archive is a folder (or a selection of items) ready to stream as a
// zip: its files that may be served, and those left out (not cleared by
// the antivirus).
type Archive struct {
	Name    string // the download's name, without ".zip"
	Root    string // the folder every entry is in ("" for a selection)
	Entries []ZipEntry
	Skipped []ZipEntry
	Size    int64 // bytes of the files included
}

// ZipEntry is an item of an archive, at Path ("Dossier/sous/nom").
type ZipEntry struct {
	Path string
	Node store.Node
}

var errNotAFolderZip = fail(http.StatusBadRequest, "not_a_folder", "Seul un dossier se télécharge en archive zip.")

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
	a, err := s.zipFolder(ctx, n)
	if err == nil {
		s.audit(ctx, space, u.ID, "download_zip", n.ID, n.Name)
	}
	return a, err
}

// MaxZipSelection bounds the items picked for one zip download.
const MaxZipSelection = 1000

// ZipSelection plans the download of several items of a space (files and
// folders, each at the root of the archive, folders with what is below
// them) as one zip.
func (s *Service) ZipSelection(ctx context.Context, u identity.User, space string, ids []string) (Archive, error) {
	sp, err := s.access(ctx, u, space, store.RoleReader)
	if err != nil {
		return Archive{}, err
	}
	if len(ids) == 0 || len(ids) > MaxZipSelection {
		return Archive{}, fail(http.StatusBadRequest, "invalid_selection", "Choisissez de 1 à 1000 éléments.")
	}
	a := Archive{Name: zipName(sp.Name)}
	taken := map[string]bool{}
	for _, id := range ids {
		n, err := s.liveNode(ctx, space, id)
		if err != nil {
			return Archive{}, err
		}
		// Items from different folders may share a name: number them.
		name := zipName(n.Name)
		for i := 2; taken[names.Key(name)]; i++ {
			name = zipName(n.Name) + " (" + strconv.Itoa(i) + ")"
		}
		taken[names.Key(name)] = true
		if err := s.addToArchive(ctx, &a, n, name); err != nil {
			return Archive{}, err
		}
	}
	if err := s.checkZipSize(a); err != nil {
		return Archive{}, err
	}
	s.audit(ctx, space, u.ID, "download_zip", "", strconv.Itoa(len(ids))+" éléments")
	return a, nil
}

// LinkZip plans the download, through a read link, of the link's folder
// or of a folder below it, as a zip: exactly what the link shows.
func (s *Service) LinkZip(ctx context.Context, la LinkAccess, folder string) (Archive, error) {
	if la.Link.Kind != store.LinkRead {
		return Archive{}, errUploadOnly
	}
	n, err := s.inLink(ctx, la, folder)
	if err != nil {
		return Archive{}, err
	}
	a, err := s.zipFolder(ctx, n)
	if err == nil {
		s.audit(ctx, la.Link.SpaceID, la.actor(), "link_zip", n.ID, n.Name)
		s.notifyLinkUsed(ctx, la.Link, "Dossier téléchargé (zip) : "+n.Name)
	}
	return a, err
}

// zipFolder plans a folder's archive, rooted at the folder.
func (s *Service) zipFolder(ctx context.Context, n store.Node) (Archive, error) {
	if n.Kind != store.KindFolder {
		return Archive{}, errNotAFolderZip
	}
	a := Archive{Name: zipName(n.Name), Root: zipName(n.Name)}
	if err := s.addBelow(ctx, &a, n, a.Root); err != nil {
		return a, err
	}
	return a, s.checkZipSize(a)
}

var errZipItems = fail(http.StatusRequestEntityTooLarge, "zip_too_large", "Ce dossier contient trop d'éléments pour une archive (100 000 au plus).")

// addToArchive adds n at path name, and for a folder what is below it.
func (s *Service) addToArchive(ctx context.Context, a *Archive, n store.Node, name string) error {
	a.put(ZipEntry{Path: name, Node: n})
	if n.Kind != store.KindFolder {
		return nil
	}
	return s.addBelow(ctx, a, n, name)
}

// addBelow adds what is below folder n, whose path in the archive is
// name, keeping the archive within MaxZipItems.
func (s *Service) addBelow(ctx context.Context, a *Archive, n store.Node, name string) error {
	below, err := s.store.LiveTree(ctx, n.SpaceID, n.ID, MaxZipItems)
	if err != nil {
		return err
	}
	if len(below)+len(a.Entries)+len(a.Skipped) > MaxZipItems {
		return errZipItems
	}
	a.add(below, map[string]string{n.ID: name})
	return nil
}

// add appends items (each folder before its children) whose parents'
// paths are in paths.
func (a *Archive) add(items []store.Node, paths map[string]string) {
	for _, c := range items {
		p := paths[c.ParentID] + "/" + zipName(c.Name)
		if c.Kind == store.KindFolder {
			paths[c.ID] = p
		}
		a.put(ZipEntry{Path: p, Node: c})
	}
}

// put adds e: a folder, a file the antivirus cleared, or a file left out.
func (a *Archive) put(e ZipEntry) {
	switch {
	case e.Node.Kind == store.KindFolder:
		a.Entries = append(a.Entries, e)
	case e.Node.Scan == store.ScanClean || e.Node.Scan == store.ScanSkipped:
		a.Entries = append(a.Entries, e)
		a.Size += e.Node.Size
	default:
		a.Skipped = append(a.Skipped, e)
	}
}

func (s *Service) checkZipSize(a Archive) error {
	if s.cfg.MaxZipSize > 0 && a.Size > s.cfg.MaxZipSize {
		return fail(http.StatusRequestEntityTooLarge, "zip_too_large",
			"Ce dossier dépasse la taille maximale d'une archive ("+humanSize(s.cfg.MaxZipSize)+") : téléchargez ses sous-dossiers séparément.")
	}
	return nil
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
	if a.Root != "" {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: a.Root + "/", Method: zip.Store}); err != nil {
			return err
		}
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
		name := skippedName
		if a.Root != "" {
			name = a.Root + "/" + skippedName
		}
		fw, err := zw.Create(name)
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

/* Replays a harness's seed corpus and regressions without libFuzzer: each file of each directory
 * on the command line goes to LLVMFuzzerTestOneInput once, in name order, so the inputs that once
 * crashed run as unit tests in the sanitizer tree of any compiler. A missing directory, an
 * unreadable file or no input at all fails; a broken invariant aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads `path` into an exactly sized buffer (so an over-read is caught). */
static int replay_file(const char *path)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data || fread(data, 1, size, f) != size) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int regular_file(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    size_t inputs = 0;
    for (int i = 1; i < argc; i++) {
        struct dirent **entries = NULL;
        int count = scandir(argv[i], &entries, regular_file, alphasort);
        if (count < 0) {
            fprintf(stderr, "replay: no directory %s\n", argv[i]);
            return 1;
        }
        for (int j = 0; j < count; j++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], entries[j]->d_name);
            if (replay_file(path) != 0)
                return 1;
            inputs++;
            free(entries[j]);
        }
        free(entries);
    }
    if (inputs == 0) {
        fprintf(stderr, "replay: no input to replay\n");
        return 1;
    }
    printf("replayed %zu inputs\n", inputs);
    return 0;
}

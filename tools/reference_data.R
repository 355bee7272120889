# The shipped data as the R reference scripts read them: source("tools/reference_data.R") from the repository
# root, then load_csv("hsb"). The CSV files in mlmlab/datasets/data/ with factor levels from datasets.json, so
# R and Python see the same data (every reference script in tools/ reads the data this way).

data_dir <- file.path("mlmlab", "datasets", "data")
meta <- jsonlite::fromJSON(file.path(data_dir, "datasets.json"), simplifyVector = TRUE)

load_csv <- function(name) {
  factors <- meta[[name]]$factors
  classes <- setNames(rep("character", length(factors)), names(factors))
  d <- utils::read.csv(file.path(data_dir, paste0(name, ".csv")), colClasses = classes, stringsAsFactors = FALSE)
  for (col in names(factors)) {
    d[[col]] <- factor(d[[col]], levels = factors[[col]])
    stopifnot(!anyNA(d[[col]]))   # every value is one of the levels datasets.json lists
  }
  d
}
